"""The claims flavour (a cluster-scoped XModelAPI behind each namespaced ModelAPI claim), on a
control plane of its own: a v1 and a v2 XRD cannot both define modelapis.ethical.institute."""

from __future__ import annotations

from tests.e2e.controlplane import is_true
from tests.e2e.stories import (
    API,
    CLAIMS_XRD,
    CRD_API,
    EXAMPLES,
    TEAM_B,
    XRD_V1,
    Stage,
    load_one,
    ready_story,
)

# --- Claims: the legacy flavour, on a control plane of its own ---------------------------------


def test_claims_xrd_and_its_crds_are_established(claims: Stage) -> None:
    xrd = load_one(CLAIMS_XRD)
    assert is_true(claims.cp.get(XRD_V1, "CompositeResourceDefinition", xrd["metadata"]["name"]), "Established")
    xr_crd = claims.cp.get(CRD_API, "CustomResourceDefinition", xrd["metadata"]["name"])
    claim_crd = claims.cp.get(CRD_API, "CustomResourceDefinition", "modelapis.ethical.institute")
    assert (xr_crd["spec"]["scope"], xr_crd["spec"]["names"]["kind"]) == ("Cluster", "XModelAPI")
    assert (claim_crd["spec"]["scope"], claim_crd["spec"]["names"]["kind"]) == ("Namespaced", "ModelAPI")
    assert is_true(xr_crd, "Established")
    assert is_true(claim_crd, "Established")


def test_a_claim_composes_in_its_namespace_under_its_name_and_becomes_ready(claims: Stage) -> None:
    doc = load_one(EXAMPLES / "claim" / "claim.yaml")
    name, namespace = doc["metadata"]["name"], doc["metadata"]["namespace"]
    assert namespace == TEAM_B
    ready_story(claims, doc, "claim")
    claim = claims.modelapi(name, namespace)
    xr = claims.xr_of(claim)
    claims.watch(API, "XModelAPI", xr["metadata"]["name"])
    assert xr["metadata"]["name"] != name
    assert xr["metadata"]["labels"]["crossplane.io/claim-name"] == name
    assert xr["metadata"]["labels"]["crossplane.io/claim-namespace"] == namespace
    assert claim["status"]["endpoint"] == f"http://{name}.{namespace}.svc.cluster.local:8000"
    for api_version, kind, obj_name in (
        ("apps/v1", "Deployment", name),
        ("v1", "Service", name),
        ("v1", "Secret", f"{name}-client"),
    ):
        assert claims.cp.get(api_version, kind, obj_name, namespace) is not None, (kind, obj_name)
