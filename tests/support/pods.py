"""Pods as a real cluster shows them, one per story a ModelAPI can be in: the data files in
tests/fixtures/pods/ (`hosted-<story>.yaml`, `proxy-<story>.yaml`), each the Pod of a ModelAPI
named `ollama` (Hosted) or `dev-ollama` (Proxy) in team-a, renamed here for another."""

import copy
import functools

import yaml

from function import names
from tests.support import ROOT

PODS = ROOT / "tests" / "fixtures" / "pods"
STORIES = sorted(p.stem for p in PODS.glob("*.yaml"))


@functools.cache
def _load(mode: str, story: str) -> dict:
    path = PODS / f"{mode}-{story}.yaml"
    if not path.exists():
        raise ValueError(f"no pod story {mode}-{story}: one of {STORIES}")
    return yaml.safe_load(path.read_text())


def _story(mode: str, story: str, default_base: str, name: str) -> dict:
    """The story's pod of a ModelAPI named `name`, labelled as the function labels a new one's."""
    pod = copy.deepcopy(_load(mode, story))
    if name != default_base:
        naming = names.naming(name, None)
        base = naming.base
        meta = pod["metadata"]
        meta["name"] = meta["name"].replace(default_base, base, 1)
        meta["labels"] = {**meta["labels"], **naming.selector()}
        for owner in meta["ownerReferences"]:
            owner["name"] = owner["name"].replace(default_base, base, 1)
    return pod


def hosted(story: str, name: str = "ollama") -> dict:
    return _story("hosted", story, "ollama", name)


def proxy(story: str, name: str = "dev-ollama") -> dict:
    return _story("proxy", story, "dev-ollama", name)
