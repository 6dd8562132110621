"""The Configuration packages as we ship them (hack/build-configuration.py, built by the real
`crossplane xpkg build`, its layer read back): the API we generate, a Composition that names the
function as the package manager will have installed it, a dependency on our function package at
a version range, and the Crossplane cores the tests run; one reference to the package everywhere."""

import pathlib
import subprocess
import sys
import tomllib

import pytest
import yaml

from function import names
from tests.support.shipping import ROOT, Xpkg, docs, tool

sys.path.insert(0, str(ROOT / "hack"))
build_configuration = __import__("build-configuration")

FLAVOURS = build_configuration.FLAVOURS


def by_kind(objects: list[dict]) -> tuple[dict, dict, dict]:
    """The package's meta, XRD and Composition, in whatever order crossplane wrote them."""
    kinds = {o["kind"]: o for o in objects}
    assert len(kinds) == len(objects) == 3, [o["kind"] for o in objects]
    return kinds["Configuration"], kinds["CompositeResourceDefinition"], kinds["Composition"]


def build(out: pathlib.Path, *args: str) -> dict[str, tuple[dict, dict, dict]]:
    tool("crossplane")
    subprocess.run(
        [sys.executable, str(ROOT / "hack/build-configuration.py"), str(out), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return {name: by_kind(docs(Xpkg(out / f"{name}.xpkg").labelled("base")["package.yaml"])) for name in FLAVOURS}


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> dict[str, tuple[dict, dict, dict]]:
    return build(tmp_path_factory.mktemp("configuration"))


@pytest.mark.parametrize("name", FLAVOURS)
def test_a_configuration_depends_on_our_function_at_its_version_and_on_the_cores_we_test(released, name):
    meta = released[name][0]
    assert meta["kind"] == "Configuration" and meta["metadata"]["name"] == name
    assert meta["spec"]["crossplane"] == {"version": ">=v2.3.0-0"}
    assert meta["spec"]["dependsOn"] == [
        {
            "apiVersion": "pkg.crossplane.io/v1",
            "kind": "Function",
            "package": "xpkg.crossplane.io/ethical-institute/function-modelapi",
            "version": ">=v0.1.0",
        }
    ]
    assert "install/rbac.yaml" in meta["metadata"]["annotations"]["meta.crossplane.io/readme"]


@pytest.mark.parametrize("name", FLAVOURS)
def test_a_configuration_carries_the_generated_api_with_the_function_named_as_installed(released, name):
    _, xrd, composition = released[name]
    xrd_path, composition_path = FLAVOURS[name]
    # crossplane writes the objects back from its Go types (defaults, empty status): compare what we set
    ours = yaml.safe_load((ROOT / xrd_path).read_text())
    assert xrd["spec"]["names"] == ours["spec"]["names"]
    assert [v["schema"] for v in xrd["spec"]["versions"]] == [v["schema"] for v in ours["spec"]["versions"]]
    shipped = yaml.safe_load((ROOT / composition_path).read_text())
    (step,) = composition["spec"]["pipeline"]
    (want,) = shipped["spec"]["pipeline"]
    assert step["functionRef"] == {"name": "ethical-institute-function-modelapi"}
    assert step["input"] == want["input"]
    assert composition["spec"]["compositeTypeRef"] == shipped["spec"]["compositeTypeRef"]


def test_a_configuration_for_a_mirror_names_the_function_as_installed_from_there(tmp_path):
    built = build(tmp_path, "--function", "10.209.0.1:5000/platform/function-modelapi", "--version", "v0.2.0")
    meta, _, composition = built["configuration-modelapi"]
    assert meta["spec"]["dependsOn"][0]["package"] == "10.209.0.1:5000/platform/function-modelapi"
    assert meta["spec"]["dependsOn"][0]["version"] == ">=v0.2.0"
    assert composition["spec"]["pipeline"][0]["functionRef"] == {"name": "platform-function-modelapi"}


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        # As Crossplane's xpkg.ToDNSLabel names them (its own functions' install docs).
        (
            "xpkg.crossplane.io/crossplane-contrib/function-patch-and-transform",
            "crossplane-contrib-function-patch-and-transform",
        ),
        ("xpkg.crossplane.io/ethical-institute/function-modelapi", "ethical-institute-function-modelapi"),
        ("10.209.0.1:5000/function-modelapi", "function-modelapi"),
        ("localhost/a.b/c", "a-b-c"),
    ],
)
def test_the_dependency_name_is_the_package_managers(reference, name):
    assert build_configuration.dns_label(build_configuration.repository_path(reference)) == name


def test_one_reference_to_our_packages_everywhere():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version == names.PACKAGE_VERSION
    meta = yaml.safe_load((ROOT / "package/crossplane.yaml").read_text())
    assert meta["spec"]["crossplane"]["version"] == names.CROSSPLANE_VERSIONS
    (function,) = docs((ROOT / "examples/functions.yaml").read_text())
    assert function["spec"]["package"] == f"{names.PACKAGE}:v{version}"
    release = (ROOT / ".github/workflows/release.yml").read_text()
    assert f"default: {names.PACKAGE.split('/', 1)[1]}\n" in release
    assert "build-configuration.py" in release
    readme = (ROOT / "README.md").read_text()
    assert f"{names.CONFIGURATION_PACKAGE}:v{version}" in readme
