"""Builders shared by the tests."""

import base64
import copy
from collections.abc import Iterable, Mapping

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import names
from function.compose import compose
from function.fn import PODS
from function.spec import SpecError


def xr(spec: dict, name: str = "my-modelapi", namespace: str = "team-a", **meta: object) -> dict:
    return {
        "apiVersion": names.API_VERSION,
        "kind": "ModelAPI",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "spec": spec,
    }


PROXY = {"mode": "Proxy", "proxyConfig": {"apiBase": "http://ollama.ollama.svc:11434"}}
HOSTED = {"mode": "Hosted", "serverConfig": {"model": "smollm2:135m"}}


def refusal(spec: dict, platform: dict | None) -> str | None:
    """The fatal a spec gets under a platform's input, or None when it is composed."""
    try:
        compose(xr(spec), platform, {})
    except SpecError as e:
        return str(e)
    return None


def with_(base: dict, path: str, value: object) -> dict:
    """A copy of base with the dotted path set to value."""
    out = copy.deepcopy(base)
    node = out
    *parents, last = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return out


def deployment_status(available: int = 0, progressing: tuple[str, str] | None = None) -> dict:
    conditions = []
    if progressing:
        status, reason = progressing
        conditions.append({"type": "Progressing", "status": status, "reason": reason, "message": "m"})
    return {"status": {"availableReplicas": float(available), "conditions": conditions}}


def observed_ready(spec: dict, **observed: dict) -> dict:
    """Everything the function composed for spec, observed as existing, the Deployment available."""
    out = compose(xr(spec), None, {})
    seen = copy.deepcopy(out.resources)
    seen[names.DEPLOYMENT].update(deployment_status(available=1))
    seen.update(observed)
    return seen


def secret_value(secret: dict, key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


def container(out_resources: dict, name: str) -> dict:
    pod = out_resources[names.DEPLOYMENT]["spec"]["template"]["spec"]
    return next(c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == name)


def request(
    composite: dict,
    observed: dict | None = None,
    fn_input: dict | None = None,
    pods: list[dict] | None = None,
    tag: str = "",
) -> fnv1.RunFunctionRequest:
    """The request Crossplane sends: the XR, the observed objects by resource key, the Composition
    step's input, and the ModelAPI's Pods where the function asked for them."""
    req = fnv1.RunFunctionRequest()
    req.meta.tag = tag
    req.observed.composite.resource.update(composite)
    for key, obj in (observed or {}).items():
        req.observed.resources[key].resource.update(obj)
    if fn_input is not None:
        req.input.update(fn_input)
    if pods is not None:
        items = req.required_resources[PODS].items
        for pod in pods:
            items.add().resource.update(pod)
    return req


def config_key(resources: Mapping[str, dict]) -> str:
    """The resource key of a proxy's current LiteLLM config (named for its content): the one its
    Deployment's pods mount, where an earlier revision is kept beside it."""
    volumes = resources[names.DEPLOYMENT]["spec"]["template"]["spec"]["volumes"]
    (mounted,) = [v["secret"]["secretName"] for v in volumes if v["name"] == "config"]
    (key,) = [k for k in resources if names.is_litellm_config_key(k) and resources[k]["metadata"]["name"] == mounted]
    return key


def kinds_of_keys(keys: Iterable[str]) -> set[str]:
    """Resource keys with the config's revision left out: `litellm-config-3f2a...` as `litellm-config`."""
    return {names.LITELLM_CONFIG if names.is_litellm_config_key(k) else k for k in keys}
