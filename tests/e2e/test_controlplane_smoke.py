"""The e2e control plane works: API server, Crossplane CRDs and core, a v2 XRD,
and a function registered with register_function() is called over mTLS.

The `cp` fixture (tests/e2e/conftest.py) skips without the binaries of
hack/install-controlplane.sh, except under CI=true where it fails.
"""

from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from crossplane.function import resource, response, runtime
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from tests.e2e.controlplane import ControlPlane, conditions_of, is_true

XRD_API = "apiextensions.crossplane.io/v2"
CRD_API = "apiextensions.k8s.io/v1"
GROUP = "e2e.example.org"


def apply_xrd(cp: ControlPlane, kind: str, plural: str) -> str:
    """A Namespaced v2 XRD with an integer spec.size; waits until Established."""
    name = f"{plural}.{GROUP}"
    spec_schema = {"type": "object", "properties": {"size": {"type": "integer"}}}
    cp.apply(
        {
            "apiVersion": XRD_API,
            "kind": "CompositeResourceDefinition",
            "metadata": {"name": name},
            "spec": {
                "group": GROUP,
                "names": {"kind": kind, "plural": plural},
                "scope": "Namespaced",
                "versions": [
                    {
                        "name": "v1alpha1",
                        "served": True,
                        "referenceable": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {"spec": spec_schema},
                            }
                        },
                    }
                ],
            },
        }
    )
    cp.wait_for(
        lambda: is_true(cp.get(XRD_API, "CompositeResourceDefinition", name), "Established"),
        what=f"XRD {name} Established",
        seen=lambda: conditions_of(cp.get(XRD_API, "CompositeResourceDefinition", name)),
    )
    return name


def test_api_server_serves_the_kubernetes_minor_of_crossplanes_client(
    cp: ControlPlane,
) -> None:
    version = cp.request("GET", "/version")[1]
    assert version["gitVersion"].startswith("v1.35."), version


def test_crossplane_crds_are_established(cp: ControlPlane) -> None:
    assert "functionrevisions.pkg.crossplane.io" in cp.crd_names
    for name in cp.crd_names:
        crd = cp.get(CRD_API, "CustomResourceDefinition", name)
        assert is_true(crd, "Established"), name


def test_crossplane_core_is_running_and_healthy(cp: ControlPlane) -> None:
    cp.assert_running()
    assert cp.crossplane_healthy()


def test_v2_namespaced_xrd_gets_its_crd(cp: ControlPlane) -> None:
    name = apply_xrd(cp, "XSmoke", "xsmokes")
    crd = cp.get(CRD_API, "CustomResourceDefinition", name)
    assert crd is not None
    assert crd["spec"]["scope"] == "Namespaced"
    assert is_true(crd, "Established")


class ConfigMapFunction(grpcv1.FunctionRunnerServiceServicer):
    """Composes one ready ConfigMap holding the XR's spec.size."""

    def RunFunction(self, req: fnv1.RunFunctionRequest, _context: grpc.ServicerContext) -> fnv1.RunFunctionResponse:
        rsp = response.to(req)
        xr = req.observed.composite.resource
        resource.update(
            rsp.desired.resources["config"],
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{xr['metadata']['name']}-config"},
                "data": {"size": str(int(xr["spec"]["size"]))},
            },
        )
        rsp.desired.resources["config"].ready = fnv1.READY_TRUE
        return rsp


@pytest.fixture
def function_endpoint(cp: ControlPlane) -> Iterator[str]:
    """A function served with the certificates the control plane made for it."""
    assert cp.function_certs is not None
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    grpcv1.add_FunctionRunnerServiceServicer_to_server(ConfigMapFunction(), server)
    creds = runtime.load_credentials(str(cp.function_certs.server_dir))
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(grace=None)


def test_crossplane_calls_a_registered_function_over_mtls(cp: ControlPlane, function_endpoint: str) -> None:
    cp.register_function("function-smoke", function_endpoint)
    revs = cp.list(
        "pkg.crossplane.io/v1",
        "FunctionRevision",
        label_selector="pkg.crossplane.io/package=function-smoke",
    )
    assert [r["status"]["endpoint"] for r in revs] == [function_endpoint]
    apply_xrd(cp, "XPipe", "xpipes")
    cp.apply(
        {
            "apiVersion": "apiextensions.crossplane.io/v1",
            "kind": "Composition",
            "metadata": {"name": "xpipes-smoke"},
            "spec": {
                "compositeTypeRef": {"apiVersion": f"{GROUP}/v1alpha1", "kind": "XPipe"},
                "mode": "Pipeline",
                "pipeline": [{"step": "config", "functionRef": {"name": "function-smoke"}}],
            },
        }
    )
    cp.apply(
        {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "XPipe",
            "metadata": {"name": "pipe", "namespace": "default"},
            "spec": {"size": 3, "crossplane": {"compositionRef": {"name": "xpipes-smoke"}}},
        }
    )
    xr = cp.wait_for(
        lambda: (x := cp.get(f"{GROUP}/v1alpha1", "XPipe", "pipe", "default")) and is_true(x, "Ready") and x,
        timeout=90,
        what="XR Ready",
        seen=lambda: conditions_of(cp.get(f"{GROUP}/v1alpha1", "XPipe", "pipe", "default")),
    )
    assert is_true(xr, "Synced")
    config = cp.get("v1", "ConfigMap", "pipe-config", "default")
    assert config is not None
    assert config["data"] == {"size": "3"}
