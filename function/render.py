"""`python -m function render`: print a ModelAPI's objects and status, as `helm template`
prints a chart's, for users without the crossplane CLI. It calls the same core as Crossplane."""

import pathlib
import sys

import click
import yaml

from function import sandbox
from function.compose import compose
from function.litellm_config import Verdict
from function.spec import SpecError

RESOURCE_NAME_ANNOTATION = "crossplane.io/composition-resource-name"


class _Dumper(yaml.SafeDumper):
    """Plain YAML: objects share label dicts, which must not become anchors and aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _documents(path: pathlib.Path) -> list[dict]:
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
    return [doc for f in files for doc in yaml.safe_load_all(f.read_text()) if isinstance(doc, dict)]


def _one_modelapi(path: pathlib.Path) -> dict:
    try:
        xr = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None
    if not isinstance(xr, dict):
        raise SpecError(f"{path}: must hold one ModelAPI (a YAML mapping)")
    return xr


def _input_from(doc: dict) -> dict | None:
    """The function input itself, or the first pipeline step's input of a Composition."""
    if doc.get("kind") != "Composition":
        return doc
    steps = doc.get("spec", {}).get("pipeline", [])
    return steps[0].get("input") if steps else None


def render(xr: dict, fn_input: dict | None, observed_docs: list[dict]) -> list[dict]:
    """Observed docs are composed resources (by their resource-name annotation) and Pods."""
    observed = {
        doc["metadata"]["annotations"][RESOURCE_NAME_ANNOTATION]: doc
        for doc in observed_docs
        if RESOURCE_NAME_ANNOTATION in (doc.get("metadata", {}).get("annotations") or {})
    }
    pods = [doc for doc in observed_docs if doc.get("kind") == "Pod"]
    out = compose(xr, fn_input, observed, pods, _configs(xr))
    head = {"apiVersion": xr.get("apiVersion"), "kind": xr.get("kind"), "metadata": {"name": xr["metadata"]["name"]}}
    if xr["metadata"].get("namespace"):
        head["metadata"]["namespace"] = xr["metadata"]["namespace"]
    docs = [{**head, "status": out.status}]
    for key in sorted(out.resources):
        obj = out.resources[key]
        meta = {**obj["metadata"], "annotations": {RESOURCE_NAME_ANNOTATION: key}}
        docs.append({**obj, "metadata": meta})
    for event in out.events:
        click.echo(f"event ({'Warning' if event.warning else 'Normal'}): {event.message}", err=True)
    return docs


def _configs(xr: dict) -> dict[str, Verdict]:
    """A configYaml read as the server reads it: in a worker, within the deadline."""
    spec = xr.get("spec")
    proxy = spec.get("proxyConfig") if isinstance(spec, dict) else None
    text = proxy.get("configYaml") if isinstance(proxy, dict) else None
    return {text: sandbox.verdict_now(text)} if isinstance(text, str) else {}


@click.command()
@click.argument("xr_file", type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option(
    "--observed",
    "-o",
    type=click.Path(exists=True, path_type=pathlib.Path),
    help="Observed objects and Pods (file or dir).",
)
@click.option(
    "--input",
    "-i",
    "input_file",
    type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
    help="The function input, or a Composition whose first step carries it.",
)
def cli(xr_file: pathlib.Path, observed: pathlib.Path | None, input_file: pathlib.Path | None) -> None:
    """Render the objects and status of the ModelAPI in XR_FILE."""
    try:
        xr = _one_modelapi(xr_file)
        fn_input = _input_from(yaml.safe_load(input_file.read_text())) if input_file else None
        docs = render(xr, fn_input, _documents(observed) if observed else [])
    except SpecError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    click.echo(yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False), nl=False)
