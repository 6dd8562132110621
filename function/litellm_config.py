"""A team's LiteLLM config (`spec.proxyConfig.configYaml`): refused when LiteLLM could never
start with it, or when it would open the proxy or leak its key; else read once for what the
rest of the function needs from it.

The text is untrusted, and PyYAML's pure-Python parser (the one LiteLLM's `yaml.safe_load`
uses, and so the one whose verdict counts) is slow: ~70 us per node, and quadratic in the
nesting of flow collections (`"[" * 20000` takes ~30 s). So a text is first walked by
libyaml, in C and in linear time, and refused when it is deeper or has more nodes than any
LiteLLM config of the admitted length needs; what is left parses in well under a second.
The server still parses off its event loop, with a deadline (`function.sandbox`)."""

import hashlib
import json
import re
from dataclasses import dataclass

import yaml

from function import litellm_keys, names
from function.lru import LRU

MAX_BYTES = 64 * 1024
# A LiteLLM config nests ~6 deep (model_list[i].litellm_params.extra_headers.NAME), and a
# realistic 64 KiB one (~350 models) is ~5,500 nodes.
MAX_DEPTH = 32
MAX_NODES = 8_000
# How a LiteLLM config reads an env var (`os.environ/NAME`), the master key's and any other.
ENV_REF_PATTERN = r"os\.environ/([-._a-zA-Z][-._a-zA-Z0-9]*)"


class ConfigError(ValueError):
    """Why a config is refused, in a sentence that names the part at fault."""


@dataclass(frozen=True)
class Facts:
    """What the function needs from a config that passed."""

    # The env var that general_settings.master_key names (os.environ/NAME), if it names one.
    master_key_env: str | None
    # The env vars the config reads by os.environ/NAME and does not set itself, sorted.
    env_refs: tuple[str, ...]
    # Where each model goes: (its index in model_list, litellm_params.api_base) where it names one.
    api_bases: tuple[tuple[int, str], ...] = ()
    # The env vars the config sets itself (environment_variables), sorted.
    env_set: tuple[str, ...] = ()
    # Each model: (its index in model_list, model_name, litellm_params.model, custom_llm_provider or "").
    models: tuple[tuple[int, str, str, str], ...] = ()
    # Its litellm_settings (as JSON holds them), where it has some: the platform's callbacks
    # (metrics, traces) are merged into them, as LiteLLM's include replaces a section whole.
    settings: dict | None = None
    # What the platform's guardrails read a config by (function.litellm_keys): the paths of its
    # values as lists name them (`model_list[].litellm_params.api_base`), and the values that
    # tell where requests go or what runs (hosts, URLs, the environment, callbacks) by their
    # own paths (`model_list[0].litellm_params.api_base`), as text.
    shapes: tuple[str, ...] = ()
    leaves: tuple[tuple[str, str], ...] = ()
    # Where the text carries an explicit YAML tag (`!!binary`, `!!str`): `line N`.
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "master_key_env": self.master_key_env,
            "env_refs": list(self.env_refs),
            "api_bases": [list(b) for b in self.api_bases],
            "env_set": list(self.env_set),
            "models": [list(m) for m in self.models],
            "settings": self.settings,
            "shapes": list(self.shapes),
            "leaves": [list(leaf) for leaf in self.leaves],
            "tags": list(self.tags),
        }

    @classmethod
    def from_json(cls, data: dict) -> "Facts":
        return cls(
            master_key_env=data["master_key_env"],
            env_refs=tuple(data["env_refs"]),
            api_bases=tuple((int(i), str(url)) for i, url in data["api_bases"]),
            env_set=tuple(data["env_set"]),
            models=tuple((int(i), str(name), str(model), str(provider)) for i, name, model, provider in data["models"]),
            settings=data["settings"],
            shapes=tuple(data["shapes"]),
            leaves=tuple((str(path), str(value)) for path, value in data["leaves"]),
            tags=tuple(data["tags"]),
        )


# A verdict: the facts, or why the config is refused.
Verdict = Facts | ConfigError


@dataclass(frozen=True)
class Config:
    """A config as the spec carries it: the text, passed to LiteLLM verbatim, and its facts."""

    text: str
    facts: Facts


def read(text: str) -> Facts:
    """The config's facts; raises ConfigError. Bounded: see the module's docstring."""
    if len(text.encode()) > MAX_BYTES:
        raise ConfigError(f"longer than {MAX_BYTES} bytes")
    tags = _bound(text)
    try:
        config = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        raise ConfigError(f"not valid YAML: {yaml_error(e)}") from None
    except RecursionError:
        raise ConfigError("nested too deeply") from None
    except ConfigError:
        raise
    except Exception:  # noqa: BLE001 - a constructor's own error (a tag on a value it cannot hold)
        raise ConfigError("not valid YAML: a value cannot be read as the type its tag names") from None
    return _facts(config, tags)


def _bound(text: str) -> tuple[str, ...]:
    """Where the text has explicit tags. Refuse, from libyaml's events, what libyaml cannot
    parse, what is deeper or larger than a LiteLLM config, and keys that yaml.safe_load refuses
    only once it has built everything (a list or mapping). A config must pass both parsers:
    libyaml here, and PyYAML's own, which LiteLLM uses (they disagree on a few texts), only on
    what libyaml found within bounds."""
    # Per open collection: whether it is a mapping, and how many nodes it holds so far.
    open_: list[list] = []
    nodes = 0
    tags: list[str] = []
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.AliasEvent):
                # An alias bomb expands in whoever walks the config next.
                raise ConfigError("YAML anchors and aliases are not supported")
            if isinstance(event, yaml.CollectionEndEvent):
                open_.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            nodes += 1
            if getattr(event, "tag", None) is not None and len(tags) < 3:
                tags.append(f"line {event.start_mark.line + 1}")
            if nodes > MAX_NODES:
                raise ConfigError(f"more than {MAX_NODES} YAML nodes (keys, values and list items)")
            if open_:
                parent = open_[-1]
                if parent[0] and parent[1] % 2 == 0 and isinstance(event, yaml.CollectionStartEvent):
                    raise ConfigError(f"a mapping key must be a plain value, not a list or mapping ({_where(event)})")
                parent[1] += 1
            if isinstance(event, yaml.CollectionStartEvent):
                open_.append([isinstance(event, yaml.MappingStartEvent), 0])
                if len(open_) > MAX_DEPTH:
                    raise ConfigError(f"nested too deeply: more than {MAX_DEPTH} levels")
    except yaml.YAMLError as e:
        # libyaml stops at 1,000 levels, before it says what lies under them.
        if getattr(e, "problem", None) == "exceeded maximum nesting depth":
            raise ConfigError(f"nested too deeply: more than {MAX_DEPTH} levels") from None
        raise ConfigError(f"not valid YAML: {yaml_error(e)}") from None
    return tuple(tags)


# PyYAML's problems, by a phrase of theirs, as sentences that say what to change.
_YAML_PROBLEMS = (
    (
        "mapping values are not allowed",
        "a ':' where no mapping can start: indent the keys under theirs, or quote a value that holds ': '",
    ),
    ("cannot start any token", "a character YAML does not take here (a tab: indent with spaces)"),
    ("could not find expected ':'", "a key without ':' after it"),
    ("expected <block end>", "a line whose indentation does not line up with the lines above it"),
    ("expected <block mapping start>", "a line whose indentation does not line up with the lines above it"),
    ("expected ',' or", "a [list] or {mapping} that is not closed"),
    ("end of stream", "a quote or bracket that is never closed"),
    ("found unexpected end", "a quote or bracket that is never closed"),
    ("constructor", "a YAML tag (!name) YAML does not know: write the value without it"),
    ("alias", "an alias (*name) or anchor (&name): write the value out"),
    ("anchor", "an alias (*name) or anchor (&name): write the value out"),
    ("found duplicate", "a key given twice"),
    ("block sequence entries are not allowed", "a '- ' item where a list cannot start: indent it under its key"),
)


def yaml_error(e: yaml.YAMLError) -> str:
    """What to change and where, never the parser's words (they quote the text) nor the text
    around it: the line may hold a key."""
    problem = str(getattr(e, "problem", None) or getattr(e, "context", None) or "")
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    said = next((sentence for phrase, sentence in _YAML_PROBLEMS if phrase in problem), "YAML cannot read it here")
    return f"{said}{where}"


def _where(event: yaml.Event) -> str:
    mark = event.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


class _Loader(yaml.SafeLoader):
    """yaml.safe_load's loader (PyYAML's own parser, as LiteLLM reads the file), without aliases."""

    def compose_node(self, parent: object, index: object) -> object:
        if self.check_event(yaml.AliasEvent):
            raise ConfigError("YAML anchors and aliases are not supported")
        return super().compose_node(parent, index)


def _facts(config: object, tags: tuple[str, ...] = ()) -> Facts:
    if not isinstance(config, dict):
        raise ConfigError("must be a YAML mapping with a model_list")
    models = config.get("model_list")
    if not isinstance(models, list) or not models:
        raise ConfigError("model_list must be a non-empty list")
    for i, m in enumerate(models):
        params = m.get("litellm_params") if isinstance(m, dict) else None
        if not isinstance(m, dict) or not isinstance(m.get("model_name"), str) or not m["model_name"]:
            raise ConfigError(f"model_list[{i}].model_name must be a non-empty string")
        if not isinstance(params, dict) or not isinstance(params.get("model"), str) or not params["model"]:
            raise ConfigError(f"model_list[{i}].litellm_params.model must be a non-empty string")
    named = _master_key_env(config.get("general_settings"))
    variables = config.get("environment_variables")
    if variables is not None and not isinstance(variables, dict):
        raise ConfigError("environment_variables must be a mapping")
    # LiteLLM sets these in its environment before it reads the key.
    if variables and (named or names.MASTER_KEY_ENV) in variables:
        raise ConfigError(
            f"environment_variables.{named or names.MASTER_KEY_ENV}: the master key must come from "
            "proxyConfig.env with a secretKeyRef, not from the config"
        )
    settings = config.get("litellm_settings")
    if settings is not None and not isinstance(settings, dict):
        raise ConfigError("litellm_settings must be a mapping")
    callbacks = (settings or {}).get("callbacks")
    if callbacks is not None and not (isinstance(callbacks, list) and all(isinstance(c, str) for c in callbacks)):
        raise ConfigError("litellm_settings.callbacks must be a list of callback names such as prometheus")
    bases = tuple(
        (i, m["litellm_params"]["api_base"])
        for i, m in enumerate(models)
        if isinstance(m["litellm_params"].get("api_base"), str)
    )
    leaves = _leaves(config, "")
    return Facts(
        master_key_env=named,
        env_refs=tuple(sorted(_env_refs(config) - set(variables or {}))),
        api_bases=bases,
        env_set=tuple(sorted(str(k) for k in variables or {})),
        models=tuple(
            (i, m["model_name"], params["model"], str(params.get("custom_llm_provider") or ""))
            for i, m in enumerate(models)
            for params in (m["litellm_params"],)
        ),
        settings=None if settings is None else json.loads(json.dumps(settings, default=str)),
        shapes=tuple(sorted({litellm_keys.shape(path) for path, _ in leaves})),
        leaves=tuple(leaf for leaf in leaves if litellm_keys.tells(*leaf)),
        tags=tags,
    )


def _leaves(node: object, path: str) -> list[tuple[str, str]]:
    """(path, value as text) for every value under node; an empty list or mapping is a leaf too."""
    if isinstance(node, dict) and node:
        return [leaf for k, v in node.items() for leaf in _leaves(v, f"{path}.{k}" if path else str(k))]
    if isinstance(node, list) and node:
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, f"{path}[{i}]")]
    text = node.decode("utf-8", "replace") if isinstance(node, bytes) else json.dumps(node, default=str)
    return [(path, node if isinstance(node, str) else text)]


def _master_key_env(settings: object) -> str | None:
    """LiteLLM takes general_settings.master_key over LITELLM_MASTER_KEY: a literal there
    would be readable by anyone who can read the ModelAPI, and an empty, null or unset one
    leaves the proxy open to every caller."""
    if settings is None:
        return None
    if not isinstance(settings, dict):
        raise ConfigError("general_settings must be a mapping")
    if "master_key" not in settings:
        return None
    key = settings["master_key"]
    found = re.fullmatch(ENV_REF_PATTERN, key) if isinstance(key, str) else None
    if not found:
        raise ConfigError(
            "general_settings.master_key must be os.environ/NAME, with NAME set in proxyConfig.env "
            f"from a secretKeyRef, or left out (the function sets {names.MASTER_KEY_ENV}): a literal "
            "key is readable in the ModelAPI, and an empty one leaves the proxy open"
        )
    return found[1]


def _env_refs(node: object) -> set[str]:
    # LiteLLM resolves a string value that starts with os.environ/ from its environment.
    if isinstance(node, dict):
        return set().union(*(_env_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_env_refs(v) for v in node))
    found = re.fullmatch(ENV_REF_PATTERN, node) if isinstance(node, str) else None
    return {found[1]} if found else set()


def digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


# Verdicts by the config's SHA-256. Refusals are kept too (a refused ModelAPI comes back on every
# retry), only digests and facts, never texts. A verdict given a lifetime (a reading that ran
# out of time, which a busy machine may cause) expires.
VERDICTS: LRU[bytes, Verdict] = LRU(1024)


def verdict(text: str) -> Verdict:
    """The text's verdict, remembered; read here, in this process, when it is new."""
    key = digest(text)
    found = VERDICTS.get(key)
    if found is None:
        try:
            found = read(text)
        except ConfigError as e:
            found = e
        VERDICTS.put(key, found)
    return found
