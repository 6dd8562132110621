"""The references in docs/ are generated from the schemas (hack/generate-docs.py) and current:
every field of a ModelAPI and of the platform's input is there, with its default and rule."""

import importlib.util

import yaml

from tests.support import ROOT

spec_ = importlib.util.spec_from_file_location("generate_docs", ROOT / "hack/generate-docs.py")
generate = importlib.util.module_from_spec(spec_)
spec_.loader.exec_module(generate)


def test_the_references_are_current():
    for path, text in generate.docs().items():
        assert (ROOT / path).read_text() == text, f"{path} drifted: run hack/generate-docs.py"


def leaves(node: dict, path: str) -> list[str]:
    out = [path]
    below = node.get("items", {}) if node.get("type") == "array" else node
    for name, child in below.get("properties", {}).items():
        out += leaves(child, f"{path}{'[]' if below is not node else ''}.{name}")
    return out


def test_every_field_of_a_modelapi_is_in_its_reference():
    schema = yaml.safe_load((ROOT / "hack/xrd-schema.yaml").read_text())["spec"]
    text = (ROOT / "docs/modelapi-api.md").read_text()
    fields = [f for name, node in schema["properties"].items() for f in leaves(node, f"spec.{name}")]
    assert len(fields) > 40
    assert [f for f in fields if f"| `{f}` |" not in text] == []


def test_the_reference_tells_a_patterns_sentence_not_its_regex():
    text = (ROOT / "docs/modelapi-api.md").read_text()
    assert "must be an http(s) URL such as" in text
    assert "^https?://" not in text
