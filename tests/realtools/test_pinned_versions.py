"""The images a platform gets by default are the versions the tests run: a pinned tag (never one
that changes under the same name, which IfNotPresent would never pull again), the same in every
manifest we ship, and the LiteLLM and Ollama the tests install report those versions."""

import os
import pathlib
import subprocess

import pytest
import yaml

from function import names
from tests.support import EXAMPLES, ROOT, need_tool
from tests.support.litellm_proxy import litellm_executable

DEFAULTS = {"litellm": names.DEFAULT_LITELLM_IMAGE, "ollama": names.DEFAULT_OLLAMA_IMAGE}
COMPOSITIONS = [ROOT / "compositions/modelapi.yaml", ROOT / "compositions/xmodelapi.yaml"]


@pytest.mark.parametrize(
    ("image", "version"),
    [(names.DEFAULT_LITELLM_IMAGE, names.LITELLM_VERSION), (names.DEFAULT_OLLAMA_IMAGE, names.OLLAMA_VERSION)],
)
def test_a_default_image_is_pinned_to_the_version_we_test(image, version):
    tag = image.rsplit(":", 1)[1]
    assert tag != "latest" and tag.endswith(version), image


@pytest.mark.parametrize("path", COMPOSITIONS + sorted(EXAMPLES.glob("*/composition.yaml")), ids=str)
def test_every_composition_we_ship_names_the_pinned_images(path):
    """Those that name the images at all: the others get the input schema's defaults."""
    for doc in yaml.safe_load_all(path.read_text()):
        for step in doc["spec"]["pipeline"]:
            images = step.get("input", {}).get("images", {})
            assert all(images[k] == DEFAULTS[k] for k in DEFAULTS.keys() & images.keys()), (path, images)


def test_the_input_schema_defaults_to_the_pinned_images():
    schema = yaml.safe_load((ROOT / "package/input/modelapi.fn.ethical.institute_inputs.yaml").read_text())
    images = schema["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["images"]["properties"]
    assert {k: images[k]["default"] for k in DEFAULTS} == DEFAULTS


def test_the_litellm_the_tests_run_is_the_pinned_version():
    exe = pathlib.Path(need_tool(str(litellm_executable()), "LiteLLM (bash hack/install-litellm.sh)"))
    got = subprocess.run(
        [str(exe.parent / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert got == names.LITELLM_VERSION


def test_the_ollama_the_tests_run_is_the_pinned_version(tmp_path):
    cache = os.environ.get("MODELAPI_TOOLS") or os.path.expanduser("~/.cache/function-modelapi")
    exe = need_tool(f"{cache}/ollama-v{names.OLLAMA_VERSION}/ollama", "Ollama (bash hack/build-ollama.sh)")
    out = subprocess.run(
        [exe, "--version"],
        capture_output=True,
        text=True,
        check=False,
        env={"OLLAMA_HOST": "127.0.0.1:9", "HOME": str(tmp_path)},
    )
    assert f"client version is {names.OLLAMA_VERSION}" in out.stdout + out.stderr, out
