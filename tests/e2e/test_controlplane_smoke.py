"""The e2e control plane works: API server, Crossplane CRDs and core, a v2 XRD.

Needs the binaries of hack/install-controlplane.sh (a long build the first
time). Without them the tests skip, except under CI=true where they fail.
"""

import os
from collections.abc import Iterator

import pytest
from controlplane import ControlPlane, default_bin_dir, is_true, missing_binaries

XRD_API = "apiextensions.crossplane.io/v2"
CRD_API = "apiextensions.k8s.io/v1"


@pytest.fixture(scope="module")
def cp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    bin_dir = default_bin_dir()
    missing = missing_binaries(bin_dir)
    if missing:
        reason = (
            f"CONTROL PLANE NOT BUILT: {bin_dir} lacks {missing};"
            " run hack/install-controlplane.sh"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with ControlPlane(bin_dir, tmp_path_factory.mktemp("controlplane")) as plane:
        yield plane


def test_api_server_serves_the_kubernetes_minor_of_crossplanes_client(
    cp: ControlPlane,
) -> None:
    version = cp.request("GET", "/version")[1]
    assert version["gitVersion"].startswith("v1.35."), version


def test_crossplane_crds_are_established(cp: ControlPlane) -> None:
    assert "functionrevisions.pkg.crossplane.io" in cp.crd_names
    for name in cp.crd_names:
        assert is_true(
            cp.get(CRD_API, "CustomResourceDefinition", name), "Established"
        ), name


def test_crossplane_core_is_running_and_healthy(cp: ControlPlane) -> None:
    cp.assert_running()
    assert cp.crossplane_healthy()


def test_v2_namespaced_xrd_gets_its_crd(cp: ControlPlane) -> None:
    cp.apply(
        {
            "apiVersion": XRD_API,
            "kind": "CompositeResourceDefinition",
            "metadata": {"name": "xsmokes.e2e.example.org"},
            "spec": {
                "group": "e2e.example.org",
                "names": {"kind": "XSmoke", "plural": "xsmokes"},
                "scope": "Namespaced",
                "versions": [
                    {
                        "name": "v1alpha1",
                        "served": True,
                        "referenceable": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {
                                        "type": "object",
                                        "properties": {"size": {"type": "integer"}},
                                    }
                                },
                            }
                        },
                    }
                ],
            },
        }
    )
    cp.wait_for(
        lambda: is_true(
            cp.get(XRD_API, "CompositeResourceDefinition", "xsmokes.e2e.example.org"),
            "Established",
        ),
        timeout=60,
        what="XRD Established",
    )
    crd = cp.get(CRD_API, "CustomResourceDefinition", "xsmokes.e2e.example.org")
    assert crd is not None
    assert crd["spec"]["scope"] == "Namespaced"
    assert is_true(crd, "Established")


def test_register_function_publishes_an_endpoint(cp: ControlPlane) -> None:
    cp.register_function("function-smoke", "127.0.0.1:9443")
    revs = cp.list(
        "pkg.crossplane.io/v1",
        "FunctionRevision",
        label_selector="pkg.crossplane.io/package=function-smoke",
    )
    assert [r["status"].get("endpoint") for r in revs] == ["127.0.0.1:9443"]
    assert revs[0]["status"]["capabilities"] == ["composition"]
    assert cp.function_certs is not None
    assert {p.name for p in cp.function_certs.server_dir.iterdir()} == {
        "ca.crt",
        "tls.crt",
        "tls.key",
    }
