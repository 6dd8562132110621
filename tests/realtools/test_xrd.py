"""The XRDs as admission: every example is admitted, every bad spec is refused with the
message the XRD promises, and the XRD files are what the generator writes."""

import importlib.util

import pytest
import yaml

from tests.support import EXAMPLE_NAMES, EXAMPLES, ROOT
from tests.support.builders import HOSTED, PROXY, with_, xr
from tests.support.xrd_check import admission_errors, schema, structural_errors


def test_the_xrds_and_compositions_are_generated_from_their_source():
    spec = importlib.util.spec_from_file_location("generate", ROOT / "hack/generate-manifests.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    for path, text in generate.manifests().items():
        assert (ROOT / path).read_text() == text, f"{path} drifted: run hack/generate-manifests.py"


@pytest.mark.parametrize("flavour", ["v2", "claims"])
def test_the_xrd_schemas_are_structural(flavour):
    assert structural_errors(schema(flavour)) == []


def test_the_structural_check_finds_types_inside_any_of():
    bad = {"type": "object", "additionalProperties": {"anyOf": [{"type": "string", "pattern": "x"}]}}
    assert structural_errors(bad) == [
        ".additionalProperties: type: Required value",
        ".additionalProperties.anyOf[0].type: must be empty",
    ]


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_example_is_admitted(example):
    flavour = "claims" if example == "claim" else "v2"
    doc = yaml.safe_load((EXAMPLES / example / "xr.yaml").read_text())
    assert admission_errors(doc, flavour) == []


def test_the_claim_is_admitted_by_the_claims_xrd():
    assert admission_errors(yaml.safe_load((EXAMPLES / "claim/claim.yaml").read_text()), "claims") == []


# Names and keys the API server refuses in a Pod's env (not a DNS-1123 subdomain; a key of `..`).
REF_DOTS = {"name": "a..b", "key": "k"}
KEY_DOTS = {"name": "c", "key": "..k"}
# A label key that is not a qualified name.
LABEL_DASH = {"fieldPath": "metadata.labels['-x']"}
# An annotation key whose name part is over 63.
ANNOTATION_LONG = {"fieldPath": "metadata.annotations['" + "a" * 64 + "']"}

FULL_SPEC = {
    "mode": "Hosted",
    "serverConfig": {
        "model": "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
        "env": [{"name": "OLLAMA_DEBUG", "value": "true"}],
        "resources": {
            "requests": {"memory": "4Gi", "cpu": "2000m"},
            "limits": {"memory": "16Gi", "cpu": 8, "nvidia.com/gpu": "1"},
        },
    },
}


@pytest.mark.parametrize("spec", [PROXY, HOSTED, FULL_SPEC], ids=["proxy", "hosted", "hosted-gpu"])
def test_good_specs_are_admitted(spec):
    assert admission_errors(xr(spec)) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"mode": "Proxy"}, "mode Proxy needs proxyConfig.apiBase, proxyConfig.model or proxyConfig.configYaml"),
        ({"mode": "Proxy", "proxyConfig": {"env": []}}, "mode Proxy needs proxyConfig.apiBase"),
        ({"mode": "Hosted"}, "mode Hosted needs serverConfig.model"),
        ({"mode": "Hosted", "serverConfig": {"env": []}}, "'model' is a required property"),
        # The function refuses a serverConfig without its model in any mode (in Proxy it is
        # otherwise only ignored): admission says so first.
        ({**PROXY, "serverConfig": {"env": []}}, "'model' is a required property"),
        ({"mode": "Serverless"}, "is not one of ['Proxy', 'Hosted']"),
        ({}, "'mode' is a required property"),
        (with_(PROXY, "proxyConfig.apiBase", "ftp://x"), "does not match"),
        (with_(PROXY, "proxyConfig.apiBase", "http://x y"), "does not match"),
        (with_(PROXY, "proxyConfig.model", "gpt 4"), "does not match"),
        (with_(HOSTED, "serverConfig.model", "smollm2;id"), "does not match"),
        (with_(HOSTED, "serverConfig.model", "$(id)"), "does not match"),
        (with_(HOSTED, "serverConfig.model", "-rf"), "does not match"),
        (with_(HOSTED, "serverConfig.model", "a\nb"), "does not match"),
        (
            with_(PROXY, "proxyConfig.env", [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
            "Duplicate value",
        ),
        (
            with_(PROXY, "proxyConfig.env", [{"name": "LITELLM_MASTER_KEY", "value": "sk-x"}]),
            "LITELLM_MASTER_KEY must come from valueFrom.secretKeyRef, never a literal value",
        ),
        (
            with_(
                PROXY,
                "proxyConfig.env",
                [{"name": "A", "value": "1", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            ),
            "set value or valueFrom, not both",
        ),
        (
            with_(PROXY, "proxyConfig.env", [{"name": "A", "valueFrom": {}}]),
            "set exactly one of secretKeyRef, configMapKeyRef, fieldRef",
        ),
        (
            with_(HOSTED, "serverConfig.env", [{"name": "OLLAMA_HOST", "value": "0.0.0.0:1"}]),
            "OLLAMA_HOST and OLLAMA_MODELS are set by the function",
        ),
        (with_(HOSTED, "serverConfig.resources", {"limits": {"memory": "lots"}}), "does not match"),
        (with_(PROXY, "proxyConfig.env", [{"name": "A", "valueFrom": {"secretKeyRef": REF_DOTS}}]), "does not match"),
        (
            with_(PROXY, "proxyConfig.env", [{"name": "A", "valueFrom": {"configMapKeyRef": KEY_DOTS}}]),
            "does not match",
        ),
        (with_(PROXY, "proxyConfig.env", [{"name": "A", "valueFrom": {"fieldRef": LABEL_DASH}}]), "does not match"),
        (
            with_(PROXY, "proxyConfig.env", [{"name": "A", "valueFrom": {"fieldRef": ANNOTATION_LONG}}]),
            "does not match",
        ),
        (with_(HOSTED, "serverConfig.env", [{"name": "A", "value": "a\x00b"}]), "does not match"),
    ],
)
def test_bad_specs_are_refused_with_the_promised_message(spec, message):
    errors = admission_errors(xr(spec))
    assert any(message in e for e in errors), errors
