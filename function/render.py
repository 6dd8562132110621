"""`python -m function render`: print a ModelAPI's objects and status, as `helm template`
prints a chart's, for users without the crossplane CLI. It calls the same core as Crossplane.

Every file argument may be `-` (standard input). A file that cannot be used ends in one line,
`error: FILE: what is wrong`, and exit 1: never a traceback."""

import pathlib
import re
import sys

import click
import yaml

from function import litellm_config, names, sandbox
from function.compose import KINDS, check_kind, compose, target
from function.litellm_config import Verdict
from function.spec import ModelAPISpec, ProxyConfig, ServerConfig, SpecError, closest, parse_input

RESOURCE_NAME_ANNOTATION = "crossplane.io/composition-resource-name"
STDIN = "-"
# What Crossplane keeps under an XR's or a claim's spec beside ours (v2: spec.crossplane; claims
# and cluster-scoped XRs: the rest).
CROSSPLANE_SPEC_FIELDS = (
    "crossplane",
    "claimRef",
    "compositionRef",
    "compositionRevisionRef",
    "compositionRevisionSelector",
    "compositionSelector",
    "compositionUpdatePolicy",
    "environmentConfigRefs",
    "publishConnectionDetailsTo",
    "resourceRef",
    "resourceRefs",
    "writeConnectionSecretToRef",
)
# The names the API server takes for an object (a DNS subdomain) and for a namespace (a label).
_OBJECT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class _Dumper(yaml.SafeDumper):
    """Plain YAML: objects share label dicts, which must not become anchors and aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


class FileError(ValueError):
    """A file argument that cannot be used: the message starts with the file's name."""


def _read(name: str) -> str:
    try:
        return sys.stdin.read() if name == STDIN else pathlib.Path(name).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise FileError(f"{name}: cannot read it: {getattr(e, 'strerror', None) or e}") from None


def _objects(name: str, text: str) -> list[dict]:
    """The file's Kubernetes objects, in order, as kubectl takes them: empty documents (a
    trailing `---`) are skipped; a document that is not a mapping is an error."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        raise FileError(f"{name}: not valid YAML: {litellm_config.yaml_error(e)}") from None
    out = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            found = "a list" if isinstance(doc, list) else f"a {type(doc).__name__}"
            raise FileError(f"{name}: document {i + 1} must be a Kubernetes object (a YAML mapping), not {found}")
        out.append(doc)
    return out


def _kinds(docs: list[dict]) -> str:
    return ", ".join(str(d.get("kind", "no kind")) for d in docs) or "nothing"


def _modelapis(name: str, docs: list[dict]) -> list[dict]:
    """Every ModelAPI and XModelAPI of the file, in order; other objects (a Secret beside it,
    a Namespace) are left out as kubectl would apply them. One of our kinds under another
    apiVersion is refused: it looks like a ModelAPI and would be rendered as one."""
    ours = [d for d in docs if d.get("kind") in KINDS]
    if not ours:
        raise FileError(f"{name}: holds no {' or '.join(KINDS)} of {names.API_VERSION} (found: {_kinds(docs)})")
    for doc in ours:
        try:
            check_kind(doc)
        except SpecError as e:
            raise FileError(f"{name}: {e}") from None
        if "apiVersion" not in doc:
            raise FileError(f"{name}: apiVersion: missing; a {doc['kind']} is {names.API_VERSION}")
    return ours


def _input(name: str, docs: list[dict]) -> dict:
    """The function input itself, or the input of a Composition's step for this function."""
    found = [d for d in docs if d.get("kind") in ("Composition", names.INPUT_KIND)]
    if len(found) != 1:
        what = "no" if not found else f"{len(found)} of them: give one"
        raise FileError(
            f"{name}: must hold one function input (kind Input) or Composition; {what} (found: {_kinds(docs)})"
        )
    doc = found[0]
    if doc["kind"] == names.INPUT_KIND:
        fn_input = doc
    else:
        steps = (doc.get("spec") or {}).get("pipeline") if isinstance(doc.get("spec"), dict) else None
        steps = [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []
        ours = [s for s in steps if (s.get("functionRef") or {}).get("name") == names.FUNCTION] or steps[:1]
        if not ours or not isinstance(ours[0].get("input"), dict):
            raise FileError(f"{name}: the Composition has no pipeline step with an input for {names.FUNCTION}")
        fn_input = ours[0]["input"]
    try:
        parse_input(fn_input)
    except SpecError as e:
        raise FileError(f"{name}: {e}") from None
    return fn_input


def _observed(name: str) -> list[dict]:
    path = pathlib.Path(name)
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
    out = []
    for f in files:
        shown = STDIN if name == STDIN else str(f)
        docs = _objects(shown, _read(shown))
        if not docs:
            raise FileError(f"{shown}: holds no objects")
        # `kubectl get -o yaml` prints a List of the objects.
        out += [i for d in docs for i in (d["items"] if _is_list(d) else [d]) if isinstance(i, dict)]
    return out


def _is_list(doc: dict) -> bool:
    return str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list)


def admitted(xr: dict) -> None:
    """What the API server refuses before Crossplane ever calls the function (its version, its
    name, a field the schema does not have under spec; deeper fields the spec's models refuse),
    so that a preview never shows objects the cluster would not make. Raises SpecError."""
    if xr.get("apiVersion") not in (None, names.API_VERSION):
        raise SpecError(f"apiVersion: {xr['apiVersion']} is not served: this API is {names.API_VERSION}")
    meta = xr.get("metadata") if isinstance(xr.get("metadata"), dict) else {}
    name, namespace = meta.get("name"), meta.get("namespace")
    if name is None:
        raise SpecError("metadata.name: missing; a ModelAPI needs a name (such as my-model)")
    if not isinstance(name, str) or len(name) > 253 or not _OBJECT_NAME.match(name):
        raise SpecError(
            f"metadata.name: {name!r} is not a name the API server takes: lower case letters, digits, '-' and "
            "'.', starting and ending with a letter or digit, at most 253 (such as my-model)"
        )
    if namespace is not None and not (isinstance(namespace, str) and _NAMESPACE.match(namespace)):
        raise SpecError(
            f"metadata.namespace: {namespace!r} is not a namespace name: lower case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 (such as team-a)"
        )
    spec = xr.get("spec")
    fields = sorted(ModelAPISpec.model_fields)
    for key in spec if isinstance(spec, dict) else ():
        if key not in ModelAPISpec.model_fields and key not in CROSSPLANE_SPEC_FIELDS:
            # A field written one level too high (`model:` beside `mode:`) is its config's.
            configs = (("proxyConfig", ProxyConfig), ("serverConfig", ServerConfig))
            below = [f"{c}.{key}" for c, model in configs if key in model.model_fields]
            hint = f"; did you mean {' or '.join(below)}?" if below else closest(key, fields)
            raise SpecError(f"spec.{key}: not a field of a ModelAPI (its fields: {', '.join(fields)}){hint}")


def _theirs(xr: dict, doc: dict) -> bool:
    """Whether an observed object is one of XR's: in its namespace (or none given), and named or
    labelled as the function names and labels that ModelAPI's objects."""
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    where = target(xr)
    if meta.get("namespace") not in (None, where.namespace):
        return False
    base = names.base_name(where.name)
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    if doc.get("kind") == "Pod":
        return labels.get("app.kubernetes.io/instance", base) == base and labels.get("app") in (None, base, where.name)
    name = meta.get("name")
    named = isinstance(name, str) and (name == base or name.startswith((base + "-", base + ".")))
    return labels.get("app.kubernetes.io/instance") == base or named


def observed_for(xr: dict, observed_docs: list[dict]) -> tuple[dict[str, dict], list[dict], list[str]]:
    """XR's own observed objects, by their resource-name annotation, and its Pods; a warning for
    two objects that claim one place (the later is used)."""
    observed: dict[str, dict] = {}
    warnings = []
    for doc in observed_docs:
        meta = doc.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        # The API server keeps annotations as strings: a file that holds another is not a cluster's.
        if not (isinstance(annotations, dict) and isinstance(annotations.get(RESOURCE_NAME_ANNOTATION), str)):
            continue
        if not _theirs(xr, doc):
            continue
        key = annotations[RESOURCE_NAME_ANNOTATION]
        if key in observed:
            warnings.append(
                f"warning: observed {_named(observed[key])} and {_named(doc)} both claim {key}: the later is used"
            )
        observed[key] = doc
    pods = [doc for doc in observed_docs if doc.get("kind") == "Pod" and _theirs(xr, doc)]
    return observed, pods, warnings


def _named(doc: dict) -> str:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    return f"{doc.get('kind')} {meta.get('namespace') or '-'}/{meta.get('name')}"


def render(xr: dict, fn_input: dict | None, observed_docs: list[dict]) -> tuple[list[dict], list[str]]:
    """The XR's status and objects, and its events, once the API server would have taken it.
    Observed docs: its composed resources (by their resource-name annotation) and Pods, among
    any others (observed_for picks its own)."""
    admitted(xr)
    observed, pods, warnings = observed_for(xr, observed_docs)
    out = compose(xr, fn_input, observed, pods, _configs(xr), preview=True)
    head = {"apiVersion": xr.get("apiVersion"), "kind": xr.get("kind"), "metadata": {"name": xr["metadata"]["name"]}}
    if xr["metadata"].get("namespace"):
        head["metadata"]["namespace"] = xr["metadata"]["namespace"]
    docs = [{**head, "status": out.status}]
    for key in sorted(out.resources):
        obj = out.resources[key]
        meta = {**obj["metadata"], "annotations": {RESOURCE_NAME_ANNOTATION: key}}
        docs.append({**obj, "metadata": meta})
    events = [f"event ({'Warning' if e.warning else 'Normal'}): {e.message}" for e in out.events]
    return docs, warnings + events


def _configs(xr: dict) -> dict[str, Verdict]:
    """A configYaml read as the server reads it: in a worker, within the deadline."""
    spec = xr.get("spec")
    proxy = spec.get("proxyConfig") if isinstance(spec, dict) else None
    text = proxy.get("configYaml") if isinstance(proxy, dict) else None
    return {text: sandbox.verdict_now(text)} if isinstance(text, str) else {}


def _render_all(xrs: list[dict], fn_input: dict | None, observed: list[dict]) -> tuple[list[dict], list[str]]:
    """All or nothing: a bad spec among several prints no other ModelAPI's objects or events."""
    docs, events = [], []
    for xr in xrs:
        try:
            more, told = render(xr, fn_input, observed)
            docs, events = docs + more, events + told
        except SpecError as e:
            if len(xrs) == 1:
                raise
            meta = xr.get("metadata") if isinstance(xr.get("metadata"), dict) else {}
            raise SpecError(f"{xr.get('kind')} {meta.get('name')}: {e}") from None
    events += [
        f"warning: observed {_named(d)} is none of this file's ModelAPIs' (not in their namespace, nor named or "
        "labelled after one of them): left out"
        for d in observed
        if not any(_theirs(xr, d) for xr in xrs)
    ]
    return docs, events


_CONFIG_LINE = re.compile(r"^((?:\S+ \S+: )?spec\.proxyConfig\.configYaml: .*)\(line (\d+), column (\d+)\)")


def in_file(message: str, text: str, name: str) -> str:
    """A configYaml's line told in the file the person edits: LiteLLM's config is a block of the
    ModelAPI's file, and the parser counts from the block's first line."""
    found = _CONFIG_LINE.match(message)
    if not found:
        return message
    blocks = list(_config_blocks(text))
    named = [b for b in blocks if message.startswith(f"{b[0]} ")]
    if len(blocks) != 1 and len(named) != 1:
        return message
    _, first, indent = (named or blocks)[0]
    line, column = first + int(found[2]), int(found[3]) + indent
    shown = "standard input" if name == STDIN else name
    return f"{found[1]}(line {line} of {shown}, column {column})" + message[found.end() :]


def _config_blocks(text: str) -> list[tuple[str, int, int]]:
    """Each ModelAPI's configYaml written as a block (`|`): its kind and name, the file line
    before its first, and its indentation."""
    out = []
    lines = text.splitlines()
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return []
    for node in nodes:
        found = _at(node, "spec", "proxyConfig", "configYaml")
        if found is None or found.style not in ("|", ">") or found.start_mark.line + 1 >= len(lines):
            continue
        first = lines[found.start_mark.line + 1]
        out.append(
            (
                f"{_scalar(node, 'kind')} {_scalar(_at(node, 'metadata'), 'name')}:",
                found.start_mark.line + 1,
                len(first) - len(first.lstrip()),
            )
        )
    return out


def _at(node: yaml.Node | None, *keys: str) -> yaml.Node | None:
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)
    return node


def _scalar(node: yaml.Node | None, key: str) -> str:
    found = _at(node, key)
    return found.value if isinstance(found, yaml.ScalarNode) else "?"


@click.command(
    epilog="""\b
Examples (from the project's checkout):
  bash hack/render.sh examples/dev-ollama/xr.yaml
  bash hack/render.sh examples/production/xr.yaml -i examples/production/composition.yaml
  bash hack/render.sh examples/dev-ollama/xr.yaml -o tests/fixtures/observed/dev-ollama-failed.yaml
tests/fixtures/observed/ holds observed objects for the status stories (pending, ready, failed);
`kubectl get deploy,svc,secret,pod -n NS -o yaml` prints a cluster's own.

\b
Master keys a new client Secret would get are printed as the placeholder
sk-preview-placeholder-not-a-secret: a preview is the same bytes on every run and holds no real key."""
)
# Plain strings, not click.Path: every file's problem is told in the one `error: FILE: ...` form.
@click.argument("xr_file")
@click.option(
    "--observed",
    "-o",
    help="Observed objects and Pods, as Crossplane would send them (a file, a directory of them, or -): "
    "previews a status story (Pending, Ready, Failed).",
)
@click.option(
    "--input",
    "-i",
    "input_file",
    help="The function input (kind Input), or a Composition whose step carries it: previews platform defaults.",
)
def cli(xr_file: str, observed: str | None, input_file: str | None) -> None:
    """Render the objects and status of every ModelAPI (or XModelAPI) in XR_FILE (- reads
    standard input), as the function composes them."""
    try:
        if [xr_file, observed, input_file].count(STDIN) > 1:
            raise FileError(f"{STDIN}: standard input can be read for one argument only")
        xr_text = _read(xr_file)
        xrs = _modelapis(xr_file, _objects(xr_file, xr_text))
        fn_input = _input(input_file, _objects(input_file, _read(input_file))) if input_file else None
        observed_docs = _observed(observed) if observed else []
        docs, events = _render_all(xrs, fn_input, observed_docs)
    except SpecError as e:
        click.echo(f"error: {in_file(str(e), xr_text, xr_file)}", err=True)
        sys.exit(1)
    except FileError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - observed files hold anything: a sentence, never a traceback
        click.echo(
            f"error: the objects could not be rendered from these files ({type(e).__name__}); an observed "
            "object is likely not as the cluster keeps it: check the files given with -o",
            err=True,
        )
        sys.exit(1)
    for line in events:
        click.echo(line, err=True)
    click.echo(yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False), nl=False)
