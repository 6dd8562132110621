"""Hosted's front: Ollama takes no key, and its API serves administration beside inference
(`/api/pull` a 400 GB model onto the node, `/api/delete` the model being served, `/api/create`,
`/api/push`, `/api/copy`, `/api/blobs`). Every pod the NetworkPolicy admits may call the
endpoint, so the endpoint is an nginx in the pod that passes only the inference and read
routes to Ollama, which listens on the pod's loopback alone; every other path is refused
with 403 before it reaches Ollama.

The config is this module's constant (no team string in it): written to the container's own
/tmp at start and run there, so the front needs no ConfigMap and a read-only root filesystem."""

from function import names, pods
from function.spec import Input

CONTAINER = "front"
# Inference and reads, as agents and LiteLLM's ollama provider call them: Ollama's own API
# (generate, chat, embed, tags, show, ps, version) and its OpenAI-compatible one. nginx matches
# the path decoded and with its dot segments resolved; a path that differs only in Ollama's
# reading of it (`/api/pull/../generate`) matches no route of Ollama's.
ROUTES = (
    r"^/$"
    r"|^/api/(generate|chat|embed|embeddings|tags|show|ps|version)$"
    r"|^/v1/(chat/completions|completions|embeddings|models(/[^/]+)?)$"
)

CONFIG = f"""\
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  server_tokens off;
  client_body_temp_path /tmp/client_body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  # Images in a chat's messages make large bodies.
  client_max_body_size 64m;
  server {{
    listen {names.OLLAMA_PORT};
    location ~ "{ROUTES}" {{
      limit_except GET POST {{ deny all; }}
      proxy_pass http://127.0.0.1:{names.OLLAMA_SERVER_PORT};
      # Ollama on loopback refuses Host names it does not know (its DNS-rebinding guard).
      proxy_set_header Host localhost;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Streamed answers pass as they come; a long generation is not cut.
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }}
    location / {{
      default_type text/plain;
      return 403 "this endpoint serves inference only (Ollama's administration routes are closed)\\n";
    }}
  }}
}}
"""

# -e: its own log before it reads the config, to stderr (the root filesystem is read-only).
START = 'printf "%s" "$FRONT_CONFIG" >/tmp/nginx.conf && exec nginx -e stderr -c /tmp/nginx.conf -g "daemon off;"'


def container(platform: Input) -> dict:
    """The front: the endpoint's port, its readiness Ollama's (it passes `/` to it). Hardened
    as far as its image allows: unlike Ollama's, it runs as a user (101) and writes only /tmp."""
    out = pods.container(
        CONTAINER,
        platform.images.hostedFront,
        platform,
        command=["/bin/sh", "-c", START],
        env=[{"name": "FRONT_CONFIG", "value": CONFIG}],
        ports=[{"name": names.PORT_NAME, "containerPort": names.OLLAMA_PORT, "protocol": "TCP"}],
        readinessProbe=pods.http_probe(names.OLLAMA_HEALTH_PATH, period=5, failures=3),
        resources={"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        volumeMounts=[{"name": "front-tmp", "mountPath": "/tmp"}],  # noqa: S108 - the container's own emptyDir
    )
    out["securityContext"] |= {"runAsNonRoot": True, "runAsUser": 101, "readOnlyRootFilesystem": True}
    return out


def volume() -> dict:
    return {"name": "front-tmp", "emptyDir": {"sizeLimit": "64Mi"}}
