"""Helpers for the tests of what we ship (the runtime image, the package, the local registry):
tools found or a loud skip (a failure under CI=true), the hack scripts run and their last
line taken, a throwaway CA for the image."""

import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile

import pytest
import yaml

from tests.support import IN_CI, ROOT, tls


def missing(message: str) -> None:
    """A loud skip; under CI=true a failure, as CI installs every tool."""
    message = f"{message} (hack/install-tools.sh installs it; .ci/run runs it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def need_command(name: str) -> str:
    path = shutil.which(name)
    if not path:
        missing(f"{name} is not installed")
    return path or ""


def script(name: str, *args: str, timeout: float = 1800, env: dict | None = None) -> str:
    """Runs hack/NAME and returns its last line of output (the scripts print their product last;
    "" when it prints nothing)."""
    proc = subprocess.run(
        ["bash", str(ROOT / "hack" / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        pytest.fail(f"hack/{name} failed ({proc.returncode}):\n{proc.stderr[-4000:]}\n{proc.stdout[-2000:]}")
    lines = proc.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def tool(name: str) -> str:
    """A cached tool's path from its install script (hack/install-NAME.sh). The script builds it
    when missing, which takes minutes: without the Go toolchain that is a loud skip."""
    proc = subprocess.run(
        ["bash", str(ROOT / "hack" / f"install-{name}.sh")], capture_output=True, text=True, timeout=1800, check=False
    )
    if proc.returncode != 0 and not shutil.which("go"):
        missing(f"{name} is not built and go, which builds it, is not installed")
    if proc.returncode != 0:
        pytest.fail(f"hack/install-{name}.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc.stdout.strip().splitlines()[-1]


def docker_ready() -> None:
    """Docker from Debian's docker.io, its daemon started when none runs (hack/dockerd.sh)."""
    need_command("docker")
    need_command("dockerd")
    script("dockerd.sh", timeout=120)


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


class Pki:
    """ca.crt, tls.crt and tls.key (the server's, as Crossplane mounts them) in a directory
    readable by any user (the image runs as 65532), and a client certificate."""

    def __init__(self, directory: pathlib.Path) -> None:
        ca = tls.make_ca("function-modelapi-test-ca")
        client = tls.issue(ca, "crossplane", client=True)
        self.dir = tls.write_tls_dir(directory, ca, tls.issue(ca, "function-modelapi", server=True))
        self.ca, self.client_cert, self.client_key = ca.cert_pem(), client.cert_pem(), client.key_pem()
        for name in ("ca.crt", "tls.crt", "tls.key"):
            (directory / name).chmod(0o644)  # a test key, for the container's user
        directory.chmod(0o755)

    @property
    def ca_file(self) -> pathlib.Path:
        return self.dir / "ca.crt"


class Xpkg:
    """An .xpkg: an image tarball as `docker save` writes it (manifest.json, config, layers)."""

    def __init__(self, path: pathlib.Path) -> None:
        with tarfile.open(path) as t:
            self.files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
        (self.manifest,) = json.loads(self.files["manifest.json"])
        self.config = json.loads(self.files[self.manifest["Config"]])

    def layer(self, name: str) -> dict[str, bytes]:
        data = self.files[name]
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            return {m.name.removeprefix("./"): t.extractfile(m).read() for m in t.getmembers() if m.isfile()}

    def labelled(self, label: str) -> dict[str, bytes]:
        """The layer the config's io.crossplane.xpkg labels name (base: package.yaml, upbound: examples)."""
        labels = self.config["config"]["Labels"]
        (digest,) = [
            k.rsplit(":", 1)[1] for k, v in labels.items() if k.startswith("io.crossplane.xpkg:") and v == label
        ]
        (name,) = [n for n in self.manifest["Layers"] if n.startswith(digest)]  # named by the gzip's digest
        return self.layer(name)


def docs(text: str | bytes) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]
