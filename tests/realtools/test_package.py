"""The function package as we ship it: `crossplane xpkg build --embed-runtime-image` of the
image from our Dockerfile (hack/build-package.sh), its layers read back with tarfile, then
pushed with `crossplane xpkg push` to a local OCI registry with TLS from a test CA
(hack/registry.sh) and pulled back by digest over the registry's HTTP API.

Needs Docker, the crossplane CLI and Go (to build the registry); without them the tests
skip loudly, under CI=true they fail."""

import gzip
import hashlib
import json
import os
import pathlib
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import yaml

from tests.support.shipping import ROOT, Xpkg, docker, docker_ready, docs, script, tool

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
TAG = "v0.1.0"
REPOSITORY = "function-modelapi"


@pytest.fixture(scope="module")
def crossplane() -> str:
    return tool("crossplane")


@pytest.fixture(scope="module")
def image() -> str:
    docker_ready()
    return script("build-image.sh")


@pytest.fixture(scope="module")
def xpkg(image, crossplane) -> pathlib.Path:
    return pathlib.Path(script("build-package.sh"))


def test_the_package_holds_our_crossplane_yaml_the_input_crd_and_the_examples(xpkg):
    pkg = Xpkg(xpkg)
    base = pkg.labelled("base")
    assert set(base) == {"package.yaml"}
    shipped = docs(base["package.yaml"])
    meta = yaml.safe_load((ROOT / "package/crossplane.yaml").read_text())
    assert shipped[0] == meta
    assert meta["metadata"]["annotations"]["meta.crossplane.io/license"] == "Apache-2.0"
    assert meta["metadata"]["annotations"]["meta.crossplane.io/source"].startswith("https://")
    assert meta["spec"]["capabilities"] == ["composition"]
    assert "install/rbac.yaml" in meta["metadata"]["annotations"]["meta.crossplane.io/readme"]
    crds = [d for f in sorted((ROOT / "package/input").glob("*.yaml")) for d in docs(f.read_text())]
    assert crds
    # crossplane writes the CRDs back from its Go types, adding an empty status
    assert [{k: v for k, v in d.items() if k != "status"} for d in shipped[1:]] == crds
    assert crds[0]["kind"] == "CustomResourceDefinition"

    examples = pkg.labelled("upbound")
    assert set(examples) == {".up/examples.yaml"}
    want = [d for f in sorted((ROOT / "examples").rglob("*.yaml")) for d in docs(f.read_text())]
    got = docs(examples[".up/examples.yaml"])
    assert len(got) == len(want)
    assert sorted(map(json.dumps, got)) == sorted(map(json.dumps, want))


def test_the_package_embeds_the_runtime_image_and_its_entrypoint(xpkg, image):
    pkg = Xpkg(xpkg)
    inspect = json.loads(docker("image", "inspect", image).stdout)[0]
    config = pkg.config["config"]
    assert config["Entrypoint"] == inspect["Config"]["Entrypoint"] == ["/venv/fn/bin/function"]
    assert config["User"] == inspect["Config"]["User"] == "nonroot:nonroot"
    image_layers = inspect["RootFS"]["Layers"]
    diff_ids = pkg.config["rootfs"]["diff_ids"]
    assert diff_ids[: len(image_layers)] == image_layers  # the image's layers, then the package's two
    assert len(diff_ids) == len(image_layers) + 2
    venv = pkg.layer(pkg.manifest["Layers"][len(image_layers) - 1])
    assert "venv/fn/bin/function" in venv


# --------------------------------------------------------------------------------------------
# The local registry
# --------------------------------------------------------------------------------------------


class Registry:
    def __init__(self, directory: pathlib.Path, address: str) -> None:
        self.dir, self.address = directory, address
        self.context = ssl.create_default_context(cafile=str(directory / "ca.crt"))

    def get(self, path: str, accept: str = ACCEPT) -> tuple[bytes, dict]:
        req = urllib.request.Request(f"https://{self.address}{path}", headers={"Accept": accept})
        with urllib.request.urlopen(req, context=self.context, timeout=30) as rsp:
            return rsp.read(), dict(rsp.headers)


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    tool("registry")
    with tempfile.TemporaryDirectory(prefix="fn-registry-") as d:
        directory = pathlib.Path(d)
        address = script("registry.sh", "start", d)
        try:
            assert address.startswith("127.0.0.1:")
            yield Registry(directory, address)
        finally:
            script("registry.sh", "stop", d)
        assert not (directory / "pid").exists()


def push(crossplane: str, xpkg: pathlib.Path, ref: str, cert_file: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [crossplane, "xpkg", "push", "-f", str(xpkg), ref],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "SSL_CERT_FILE": str(cert_file)},
    )


def test_the_registry_serves_tls_on_loopback_only(registry):
    body, _ = registry.get("/v2/", accept="application/json")
    assert json.loads(body) == {}
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"https://{registry.address}/v2/", context=ssl.create_default_context(), timeout=10)


def test_a_push_without_the_ca_is_refused(registry, crossplane, xpkg):
    out = push(
        crossplane, xpkg, f"{registry.address}/{REPOSITORY}:{TAG}", pathlib.Path("/etc/ssl/certs/ca-certificates.crt")
    )
    assert out.returncode != 0
    assert "certificate" in out.stderr


def test_the_pushed_package_is_pulled_back_by_digest(registry, crossplane, xpkg):
    ref = f"{registry.address}/{REPOSITORY}:{TAG}"
    out = push(crossplane, xpkg, ref, registry.dir / "ca-bundle.crt")
    assert out.returncode == 0, out.stderr
    _, headers = registry.get(f"/v2/{REPOSITORY}/manifests/{TAG}")
    digest = headers["Docker-Content-Digest"]
    body, headers = registry.get(f"/v2/{REPOSITORY}/manifests/{digest}")
    assert "sha256:" + hashlib.sha256(body).hexdigest() == digest
    assert headers["Docker-Content-Digest"] == digest
    manifest = json.loads(body)
    pkg = Xpkg(xpkg)
    # the config is ours byte for byte; every layer is there, its content what the xpkg holds
    config, _ = registry.get(f"/v2/{REPOSITORY}/blobs/{manifest['config']['digest']}", accept="*/*")
    assert json.loads(config) == pkg.config
    assert len(manifest["layers"]) == len(pkg.manifest["Layers"])
    for layer, diff_id, name in zip(
        manifest["layers"], pkg.config["rootfs"]["diff_ids"], pkg.manifest["Layers"], strict=True
    ):
        blob, _ = registry.get(f"/v2/{REPOSITORY}/blobs/{layer['digest']}", accept="*/*")
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]
        assert "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest() == diff_id
        assert gzip.decompress(blob) == gzip.decompress(pkg.files[name])


def test_push_package_script_prints_the_reference_by_digest(registry):
    ref = script("push-package.sh", env={"REGISTRY_DIR": str(registry.dir)})
    name, digest = ref.split("@")
    assert name == f"{registry.address}/{REPOSITORY}"
    body, _ = registry.get(f"/v2/{REPOSITORY}/manifests/{digest}")
    assert "sha256:" + hashlib.sha256(body).hexdigest() == digest
