"""A test CA and the certificates Crossplane and a function use for mTLS (ca.crt, tls.crt,
tls.key); server certificates name 127.0.0.1 and localhost."""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"


@dataclass(frozen=True)
class KeyPair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str) -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert, key)


def issue(ca: KeyPair, common_name: str, *, server: bool = False, client: bool = False) -> KeyPair:
    """A leaf certificate signed by `ca`; server ones name 127.0.0.1, localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if server:
        # gRPC and Go's TLS check the dialled IP against IP SANs, not the CN.
        sans = [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return KeyPair(builder.sign(ca.key, hashes.SHA256()), key)


def write_tls_dir(directory: Path, ca: KeyPair, leaf: KeyPair) -> Path:
    """Writes ca.crt, tls.crt, tls.key: the layout Crossplane and the SDK read."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.crt").write_bytes(ca.cert_pem())
    (directory / "tls.crt").write_bytes(leaf.cert_pem())
    (directory / "tls.key").write_bytes(leaf.key_pem())
    (directory / "tls.key").chmod(0o600)
    return directory


@dataclass(frozen=True)
class FunctionCerts:
    server_dir: Path  # for the function: --tls-server-certs-dir
    client_dir: Path  # for crossplane core: --tls-client-certs-dir


def make_function_certs(directory: Path) -> FunctionCerts:
    """One test CA, a function server cert (127.0.0.1), a Crossplane client cert."""
    ca = make_ca("function-modelapi-test-ca")
    return FunctionCerts(
        server_dir=write_tls_dir(directory / "server", ca, issue(ca, "function", server=True)),
        client_dir=write_tls_dir(directory / "client", ca, issue(ca, "crossplane", client=True)),
    )
