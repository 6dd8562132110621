"""A small OTLP/HTTP trace receiver on loopback: what an OpenTelemetry collector is to LiteLLM.

It answers `POST /v1/traces` (protobuf, as LiteLLM's exporter sends it) and keeps every span it
was sent, with its resource's attributes, decoded by opentelemetry-proto."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

TRACES_PATH = "/v1/traces"


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str
    resource: dict[str, object]
    attributes: dict[str, object] = field(default_factory=dict)


def _value(v: common_pb2.AnyValue) -> object:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind) if kind else None


def _attributes(kvs: object) -> dict[str, object]:
    return {kv.key: _value(kv.value) for kv in kvs}


class Receiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[Span] = []
        self.refused: list[str] = []  # requests that were not OTLP/HTTP protobuf traces
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp", daemon=True)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        """The endpoint as OTEL_EXPORTER_OTLP_ENDPOINT takes it: the exporter appends /v1/traces."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def _received(self, body: bytes) -> None:
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = [
            Span(span.name, span.trace_id.hex(), _attributes(rs.resource.attributes), _attributes(span.attributes))
            for rs in request.resource_spans
            for scope in rs.scope_spans
            for span in scope.spans
        ]
        with self._lock:
            self._spans += spans


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != TRACES_PATH or self.headers.get("Content-Type") != "application/x-protobuf":
                receiver.refused.append(f"{self.path} {self.headers.get('Content-Type')}")
                self.send_response(404)
                self.end_headers()
                return
            receiver._received(body)
            reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    return Handler
