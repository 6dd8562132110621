"""The client Secret: what an agent needs (OPENAI_BASE_URL, OPENAI_API_KEY) in one place,
for `envFrom`. In Proxy mode its key is also LiteLLM's master key."""

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping

from function import k8s, names

# Keys derive from this seed until the Secret exists, then the observed key is kept, so a
# re-render never rotates it. A platform may pin the seed (a Secret in the function's
# DeploymentRuntimeConfig) to keep keys identical across function replicas.
_SEED = os.environ.get("MODELAPI_KEY_SEED", "").encode() or secrets.token_bytes(32)
# A key kept from the Secret must work as a bearer token for the proxy and its clients: a
# key pasted with `echo KEY | base64` ends in a newline no HTTP client sends.
_USABLE_KEY = re.compile(r"sk-[\x21-\x7e]+")
# What `render` prints where a new key would be: a preview is read, diffed and kept in files,
# so the same input must give the same bytes, and a key derived from a seed printed there
# would be a real one. A placeholder that says what it is, never derived by the server.
PREVIEW_KEY = "sk-preview-placeholder-not-a-secret"


def master_key(observed_secret: Mapping | None, identity: str, *, preview: bool) -> str:
    kept = _observed_key(observed_secret)
    if kept:
        return kept
    if preview:
        return PREVIEW_KEY
    digest = hmac.new(_SEED, identity.encode(), hashlib.sha256).digest()
    return "sk-" + base64.urlsafe_b64encode(digest).decode().removesuffix("=")  # 32 bytes: one "=" of padding


def _observed_key(secret: Mapping | None) -> str | None:
    try:
        encoded = secret["data"][names.CLIENT_API_KEY_KEY]  # type: ignore[index]
        key = base64.b64decode(encoded, validate=True).decode()
    except (TypeError, KeyError, ValueError):
        return None
    return key if _USABLE_KEY.fullmatch(key) else None


def client_secret(naming: names.Naming, namespace: str, component: str, endpoint: str, api_key: str | None) -> dict:
    data = {names.CLIENT_BASE_URL_KEY: endpoint + "/v1"}
    if api_key is not None:
        data[names.CLIENT_API_KEY_KEY] = api_key
    return k8s.secret(names.client_secret_name(naming.base), namespace, naming.labels(component), data)
