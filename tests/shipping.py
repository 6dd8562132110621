"""Helpers for the tests of what we ship (the runtime image, the package, the local registry):
tools found or a loud skip (a failure under CI=true), the hack scripts run and their last
line taken, a throwaway CA."""

import datetime
import ipaddress
import os
import pathlib
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = pathlib.Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI") == "true"


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


# --------------------------------------------------------------------------------------------
# A throwaway CA with a server certificate for 127.0.0.1 and a client certificate
# --------------------------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(cn: str, key: ec.EllipticCurvePrivateKey, issuer: tuple | None, usage: object = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    signer_name, signer_key = issuer or (_name(cn), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        usages = {"key_cert_sign": True, "crl_sign": True}
    else:
        usages = {"digital_signature": True}
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    flags = dict.fromkeys(
        [
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ],
        False,
    )
    builder = builder.add_extension(x509.KeyUsage(**{**flags, **usages}), critical=True)
    return builder.sign(signer_key, hashes.SHA256())


def _pem(obj: object) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class Pki:
    """ca.crt, tls.crt and tls.key (the server's, as Crossplane mounts them) in a directory
    readable by any user (the image runs as 65532), and a client certificate."""

    def __init__(self, directory: pathlib.Path) -> None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert("function-modelapi-test-ca", ca_key, None)
        server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        server = _cert("function-modelapi", server_key, (ca.subject, ca_key), ExtendedKeyUsageOID.SERVER_AUTH)
        client = _cert("crossplane", client_key, (ca.subject, ca_key), ExtendedKeyUsageOID.CLIENT_AUTH)
        self.dir = directory
        self.ca, self.client_cert, self.client_key = _pem(ca), _pem(client), _pem(client_key)
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in {"ca.crt": self.ca, "tls.crt": _pem(server), "tls.key": _pem(server_key)}.items():
            (directory / name).write_bytes(data)
            (directory / name).chmod(0o644)  # a test key, for the container's user
        directory.chmod(0o755)

    @property
    def ca_file(self) -> pathlib.Path:
        return self.dir / "ca.crt"
