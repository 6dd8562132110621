"""Stand-ins for what a rendered ModelAPI container talks to, for tests that run the real thing.

`FakeBackend` is one HTTP server on loopback that speaks both protocols a LiteLLM proxy
forwards to, shaped like the real servers (Ollama's Go API, OpenAI's REST API):

- Ollama: `GET|HEAD /`, `GET /api/version`, `GET /api/tags`, `POST /api/show`,
  `POST /api/generate` and `POST /api/chat` (one JSON object, or NDJSON lines when
  `stream` is true or absent, as Ollama streams by default). An unknown model answers
  404 `{"error": ...}` as Ollama does, so a proxy that sends `ollama/x` instead of `x` fails.
- OpenAI: `POST /v1/chat/completions` and `/chat/completions` (JSON, or SSE with
  `data: [DONE]`), `GET /v1/models` and `/models`. With `api_key` set, a missing or wrong
  `Authorization: Bearer` answers 401 as OpenAI does.

Every request is recorded (method, path, headers, parsed body, model) so a test can assert
what reached the backend. Replies name the backend, the API and the model, so a test can
also tell from the proxy's answer who answered.

`kube_env` and `kube_expand` do what the kubelet does to a rendered container before it
runs (resolve `valueFrom`, expand `$(VAR)`), for tests that run a rendered container's
command on this machine.
"""

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OLLAMA_VERSION = "0.6.5"
DEFAULT_OLLAMA_MODELS = ("smollm2:135m", "llama2:latest", "mistral:latest")
DEFAULT_OPENAI_MODELS = ("gpt-4o", "gpt-4o-mini")


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # names in lower case
    body: Any  # parsed JSON, else the text, else None
    at: float = field(default_factory=time.monotonic)

    @property
    def model(self) -> str | None:
        if isinstance(self.body, dict):
            name = self.body.get("model", self.body.get("name"))
            return name if isinstance(name, str) else None
        return None

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None


def ollama_name(name: str) -> str:
    """Ollama's own normalisation: a name without a tag means `:latest`."""
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def _now_rfc3339() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


def _words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p + " " for p in parts[:-1]] + [parts[-1]]


class FakeBackend:
    """A fake Ollama + OpenAI-compatible server on 127.0.0.1. Use as a context manager or
    call start()/stop()."""

    def __init__(
        self,
        name: str = "fake",
        ollama_models: Iterable[str] = DEFAULT_OLLAMA_MODELS,
        openai_models: Iterable[str] = DEFAULT_OPENAI_MODELS,
        api_key: str | None = None,
        openai_roots: Iterable[str] = ("", "/v1"),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.name = name
        self.ollama_models = {ollama_name(m) for m in ollama_models}
        self.openai_models = set(openai_models)
        self.api_key = api_key
        self.openai_roots = tuple(openai_roots)
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> "FakeBackend":
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeBackend":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- what reached it ---------------------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def record(self, r: Recorded) -> None:
        with self._lock:
            self._requests.append(r)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def find(self, path: str | None = None, model: str | None = None, method: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if (path is None or r.path == path)
            and (model is None or r.model == model)
            and (method is None or r.method == method)
        ]

    def carrying(self, text: str) -> list[Recorded]:
        """Requests whose body contains `text` (a nonce a test put in its prompt)."""
        return [r for r in self.requests if r.body is not None and text in json.dumps(r.body)]

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # ---- replies -----------------------------------------------------------------------
    def reply_text(self, api: str, model: str) -> str:
        return f"{self.name} {api} reply to {model}"


def _handler_for(backend: FakeBackend) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.backend = backend
    return Handler


class _Handler(BaseHTTPRequestHandler):
    backend: FakeBackend
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as Go's net/http and OpenAI
    server_version = "fake-backend"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ---- plumbing ----------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self) -> Recorded:
        raw = self._read_body()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        path, _, query = self.path.partition("?")
        r = Recorded(
            method=self.command,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self.backend.record(r)
        return r

    def _send(self, status: int, payload: Any, content_type: str = "application/json; charset=utf-8") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_text(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _stream(self, content_type: str, pieces: Iterable[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for piece in pieces:
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _not_found(self, r: Recorded) -> None:
        if r.path.startswith("/v1/") or r.path in ("/chat/completions", "/models"):
            self._openai_error(404, f"Invalid URL ({r.method} {r.path})", "invalid_request_error", None)
        else:
            self._send_text(404, "404 page not found")  # Go's net/http

    # ---- dispatch ----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        r = self._record()
        routes: dict[tuple[str, str], Callable[[Recorded], None]] = {
            ("GET", "/"): self._ollama_root,
            ("HEAD", "/"): self._ollama_root,
            ("GET", "/api/version"): self._ollama_version,
            ("GET", "/api/tags"): self._ollama_tags,
            ("POST", "/api/show"): self._ollama_show,
            ("POST", "/api/generate"): self._ollama_generate,
            ("POST", "/api/chat"): self._ollama_chat,
        }
        for root in self.backend.openai_roots:
            routes[("POST", f"{root}/chat/completions")] = self._openai_chat
            routes[("GET", f"{root}/models")] = self._openai_models
        route = routes.get((r.method, r.path))
        if route is None:
            self._not_found(r)
        else:
            route(r)

    # ---- Ollama ------------------------------------------------------------------------
    def _ollama_root(self, r: Recorded) -> None:
        self._send_text(200, "Ollama is running")

    def _ollama_version(self, r: Recorded) -> None:
        self._send(200, {"version": OLLAMA_VERSION})

    def _ollama_details(self) -> dict:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "134.52M",
            "quantization_level": "F16",
        }

    def _ollama_tags(self, r: Recorded) -> None:
        models = [
            {
                "name": m,
                "model": m,
                "modified_at": "2025-01-01T00:00:00.000000000Z",
                "size": 270898672,
                "digest": "9077fe9d2ae1a4a41a868836b56b8163731a8fe16621397028c2c76f838c6907",
                "details": self._ollama_details(),
            }
            for m in sorted(self.backend.ollama_models)
        ]
        self._send(200, {"models": models})

    def _ollama_model(self, r: Recorded, pulling_hint: bool) -> str | None:
        """The model named in the request if the backend has it; else answers as Ollama does."""
        body = r.body if isinstance(r.body, dict) else {}
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name:
            self._send(400, {"error": "model is required"})
            return None
        if ollama_name(name) not in self.backend.ollama_models:
            hint = ", try pulling it first" if pulling_hint else ""
            self._send(404, {"error": f'model "{name}" not found{hint}'})
            return None
        return name

    def _ollama_show(self, r: Recorded) -> None:
        if self._ollama_model(r, pulling_hint=False) is None:
            return
        self._send(
            200,
            {
                "license": "",
                "modelfile": "FROM /models/blobs/sha256-fake\nTEMPLATE {{ .Prompt }}\n",
                "parameters": 'stop "<|im_end|>"',
                "template": "{{ .Prompt }}",
                "details": self._ollama_details(),
                "model_info": {
                    "general.architecture": "llama",
                    "general.parameter_count": 134515008,
                    "llama.context_length": 8192,
                },
                "capabilities": ["completion"],
                "modified_at": "2025-01-01T00:00:00.000000000Z",
            },
        )

    def _ollama_final(self, model: str, reason: str) -> dict:
        return {
            "model": model,
            "created_at": _now_rfc3339(),
            "done": True,
            "done_reason": reason,
            "total_duration": 12_000_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": 7,
            "prompt_eval_duration": 2_000_000,
            "eval_count": 5,
            "eval_duration": 9_000_000,
        }

    def _ollama_reply(self, r: Recorded, api: str, key: str, has_input: bool) -> None:
        model = self._ollama_model(r, pulling_hint=True)
        if model is None:
            return
        body = r.body
        stream = body.get("stream", True) is not False  # Ollama streams unless told not to
        if not has_input:  # an empty prompt or message list only loads the model
            loaded = {"model": model, "created_at": _now_rfc3339()}
            loaded[key] = {"role": "assistant", "content": ""} if key == "message" else ""
            self._send(200, loaded | {"done": True, "done_reason": "load"})
            return
        text = self.backend.reply_text(api, model)

        def piece(content: str) -> dict:
            return {"role": "assistant", "content": content} if key == "message" else content

        if not stream:
            self._send(200, {"model": model, "created_at": _now_rfc3339(), key: piece(text)} | self._final_tail(model))
            return

        def lines() -> Iterator[bytes]:
            for word in _words(text):
                yield json.dumps(
                    {"model": model, "created_at": _now_rfc3339(), key: piece(word), "done": False}
                ).encode()
                yield b"\n"
            last = {"model": model, "created_at": _now_rfc3339(), key: piece("")} | self._final_tail(model)
            yield json.dumps(last).encode() + b"\n"

        self._stream("application/x-ndjson", lines())

    def _final_tail(self, model: str) -> dict:
        tail = self._ollama_final(model, "stop")
        del tail["model"], tail["created_at"]
        return tail

    def _ollama_generate(self, r: Recorded) -> None:
        body = r.body if isinstance(r.body, dict) else {}
        self._ollama_reply(r, "ollama-generate", "response", bool(body.get("prompt")))

    def _ollama_chat(self, r: Recorded) -> None:
        body = r.body if isinstance(r.body, dict) else {}
        self._ollama_reply(r, "ollama-chat", "message", bool(body.get("messages")))

    # ---- OpenAI ------------------------------------------------------------------------
    def _openai_error(self, status: int, message: str, kind: str, code: str | None) -> None:
        self._send(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})

    def _openai_authorized(self, r: Recorded) -> bool:
        if self.backend.api_key is None:
            return True
        if r.bearer is None:
            self._openai_error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            )
            return False
        if r.bearer != self.backend.api_key:
            self._openai_error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            return False
        return True

    def _openai_models(self, r: Recorded) -> None:
        if not self._openai_authorized(r):
            return
        data = [
            {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"}
            for m in sorted(self.backend.openai_models)
        ]
        self._send(200, {"object": "list", "data": data})

    def _openai_chat(self, r: Recorded) -> None:
        if not self._openai_authorized(r):
            return
        body = r.body if isinstance(r.body, dict) else None
        if body is None or not isinstance(body.get("messages"), list) or not body["messages"]:
            self._openai_error(400, "'messages' is a required property", "invalid_request_error", None)
            return
        model = body.get("model")
        if model not in self.backend.openai_models:
            self._openai_error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
            return
        text = self.backend.reply_text("openai-chat", model)
        ident, created = f"chatcmpl-fake{int(time.time() * 1000)}", int(time.time())
        usage = {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}
        if not body.get("stream"):
            self._send(
                200,
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                    "system_fingerprint": "fp_fake",
                },
            )
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict, finish: str | None, choices: bool = True) -> bytes:
            c: dict = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
            }
            if include_usage:
                c["usage"] = None if choices else usage
            return b"data: " + json.dumps(c).encode() + b"\n\n"

        def events() -> Iterator[bytes]:
            yield chunk({"role": "assistant", "content": "", "refusal": None}, None)
            for word in _words(text):
                yield chunk({"content": word}, None)
            yield chunk({}, "stop")
            if include_usage:
                yield chunk({}, None, choices=False)
            yield b"data: [DONE]\n\n"

        self._stream("text/event-stream; charset=utf-8", events())


# ---- what the kubelet does to a rendered container ---------------------------------------
def kube_expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion in command, args and env values: `$$` is a literal `$`,
    `$(NAME)` of a defined variable is its value, anything else stays as written."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "$" or i + 1 == len(text):
            out.append(text[i])
            i += 1
        elif text[i + 1] == "$":
            out.append("$")
            i += 2
        elif text[i + 1] == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append("$(")
                i += 2
                continue
            name = text[i + 2 : close]
            out.append(env[name] if name in env else text[i : close + 1])
            i = close + 1
        else:
            out.append(text[i : i + 2])
            i += 2
    return "".join(out)


def secret_data(secret: dict) -> dict[str, str]:
    """A Secret's `data` (base64) and `stringData`, decoded, as the kubelet sees it."""
    out = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    out.update(secret.get("stringData") or {})
    return out


_FIELD_REF = re.compile(
    r"^metadata\.(name|namespace|uid)$|^spec\.(nodeName|serviceAccountName)$|^status\.(podIP|hostIP)$"
)


def kube_env(
    env: list[dict],
    secrets: dict[str, dict[str, str]] | None = None,
    config_maps: dict[str, dict[str, str]] | None = None,
    pod: dict[str, str] | None = None,
) -> dict[str, str]:
    """A container's `env` as the process sees it. `secrets` and `config_maps` map an
    object's name to its (decoded) data; `pod` maps a fieldRef path to its value. A missing
    reference raises, as the kubelet refuses to start the container, unless `optional`."""
    secrets, config_maps, pod = secrets or {}, config_maps or {}, pod or {}
    out: dict[str, str] = {}
    for e in env:
        name = e["name"]
        if "valueFrom" not in e:
            out[name] = kube_expand(e.get("value", ""), out)
            continue
        source = e["valueFrom"]
        if "secretKeyRef" in source or "configMapKeyRef" in source:
            kind = "secretKeyRef" if "secretKeyRef" in source else "configMapKeyRef"
            ref = source[kind]
            objects = secrets if kind == "secretKeyRef" else config_maps
            data = objects.get(ref["name"])
            if data is None or ref["key"] not in data:
                if ref.get("optional"):
                    continue
                raise KeyError(f"env {name}: {kind} {ref['name']}/{ref['key']} does not exist")
            out[name] = data[ref["key"]]
        elif "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            if not _FIELD_REF.match(path) or path not in pod:
                raise KeyError(f"env {name}: fieldRef {path} has no value in this test")
            out[name] = pod[path]
        else:
            raise KeyError(f"env {name}: unsupported valueFrom {sorted(source)}")
    return out
