"""Builds the Configuration packages: the ModelAPI API (an XRD and its Composition, as
hack/generate-manifests.py writes them) depending on the function package at a version range, so
that `crossplane xpkg install configuration REF` installs the API and the function together and
the package manager keeps them matched on upgrade. One package per flavour: namespaced
ModelAPIs (configuration-modelapi, the default) and claims (configuration-modelapi-claims).

    python hack/build-configuration.py OUT_DIR [--function REPOSITORY] [--version vX.Y.Z]

The package manager names a dependency's Function after its repository (Crossplane's
xpkg.ToDNSLabel: `xpkg.crossplane.io/ethical-institute/function-modelapi` is installed as
`ethical-institute-function-modelapi`), so each package's Composition refers to that name, not to
the `function-modelapi` a manual install gives it. The RBAC a package cannot carry (Crossplane's
access to Pods, NetworkPolicies, claims) stays `kubectl apply -f install/rbac.yaml`. Prints each
.xpkg's path."""

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from function import names  # noqa: E402 - from the tree this script sits in

FLAVOURS = {
    "configuration-modelapi": ("xrds/modelapi.yaml", "compositions/modelapi.yaml"),
    "configuration-modelapi-claims": ("xrds/xmodelapi-claims.yaml", "compositions/xmodelapi.yaml"),
}


def dns_label(repository: str) -> str:
    """The name the package manager gives a package of REPOSITORY (the path after the registry)."""
    label = re.sub(r"[./:]", "-", repository.lower())
    label = re.sub(r"[^-a-z0-9]", "", label)[:63]
    return label.strip("-")


def repository_path(reference: str) -> str:
    """`xpkg.crossplane.io/org/name` -> `org/name`; `10.0.0.1:5000/name` -> `name`."""
    head, _, rest = reference.partition("/")
    return rest if rest and ("." in head or ":" in head or head == "localhost") else reference


def meta(name: str, function: str, version: str) -> dict:
    return {
        "apiVersion": "meta.pkg.crossplane.io/v1",
        "kind": "Configuration",
        "metadata": {
            "name": name,
            "annotations": {
                "meta.crossplane.io/maintainer": "function-modelapi maintainers",
                "meta.crossplane.io/source": "https://github.com/ethical-institute/function-modelapi",
                "meta.crossplane.io/license": "Apache-2.0",
                "meta.crossplane.io/description": "The ModelAPI API: a team writes a ModelAPI and gets an "
                "OpenAI-compatible LLM endpoint in its namespace (a LiteLLM proxy or Ollama).",
                "meta.crossplane.io/readme": "Installs the ModelAPI XRD and its Composition and, as a dependency, "
                f"the function {function}. Then apply the RBAC a package cannot carry: "
                "kubectl apply -f install/rbac.yaml (from the project's repository).",
            },
        },
        "spec": {
            "crossplane": {"version": names.CROSSPLANE_VERSIONS},
            "dependsOn": [
                {
                    "apiVersion": "pkg.crossplane.io/v1",
                    "kind": "Function",
                    "package": function,
                    "version": f">={version}",
                }
            ],
        },
    }


def package_root(root: pathlib.Path, name: str, function: str, version: str) -> None:
    xrd, composition = (yaml.safe_load((ROOT / path).read_text()) for path in FLAVOURS[name])
    for step in composition["spec"]["pipeline"]:
        if step["functionRef"]["name"] == names.FUNCTION:
            step["functionRef"]["name"] = dns_label(repository_path(function))
    root.mkdir(parents=True)
    for file, obj in (
        ("crossplane.yaml", meta(name, function, version)),
        ("xrd.yaml", xrd),
        ("composition.yaml", composition),
    ):
        (root / file).write_text(yaml.safe_dump(obj, sort_keys=False))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--function", default=names.PACKAGE, help=f"the function package (default {names.PACKAGE})")
    parser.add_argument("--version", default=f"v{names.PACKAGE_VERSION}", help="the oldest function version it needs")
    args = parser.parse_args(argv)
    crossplane = subprocess.run(
        ["bash", str(ROOT / "hack/install-crossplane.sh")], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="configuration-") as work:
        for name in FLAVOURS:
            root = pathlib.Path(work) / name
            package_root(root, name, args.function, args.version)
            xpkg = args.out / f"{name}.xpkg"
            subprocess.run(
                [crossplane, "xpkg", "build", f"--package-root={root}", "-o", str(xpkg)],
                check=True,
                stdout=sys.stderr,
            )
            print(xpkg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
