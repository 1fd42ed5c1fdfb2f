"""Certificates generated for TLS tests: a trusted CA, an untrusted one, and leaves of each."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Issued = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def issue(
    name: str, issuer: Issued | None, *, server: bool = False, client: bool = False, expired: bool = False
) -> Issued:
    """A certificate for ``name`` signed by ``issuer`` (self-signed CA when None).

    It is valid for the next hour, or ``expired`` an hour ago.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2 if expired else 0)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if client:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256()), key


@dataclass(frozen=True)
class Pki:
    """PEM files in ``dir``: ``<name>.crt`` and ``<name>.key`` for each name.

    ``ca`` is the trusted CA; ``server`` (localhost, 127.0.0.1, for server
    authentication only), ``client`` (``CN=client-a``) and ``expired`` (a client
    certificate that expired an hour ago) are issued by it; ``stranger``
    (``CN=stranger``) is a client certificate issued by ``other-ca``, which
    nobody trusts.
    """

    dir: Path

    def crt(self, name: str) -> Path:
        """The certificate file of ``name``."""
        return self.dir / f"{name}.crt"

    def key(self, name: str) -> Path:
        """The private key file of ``name``."""
        return self.dir / f"{name}.key"

    def pem(self, name: str) -> tuple[bytes, bytes]:
        """``(certificate, key)`` PEM bytes of ``name``."""
        return self.crt(name).read_bytes(), self.key(name).read_bytes()


def make_pki(out: Path) -> Pki:
    """Generate the trusted and untrusted CAs and their leaves into ``out``."""
    ca = issue("test-ca", None)
    other_ca = issue("other-ca", None)
    issued = {
        "ca": ca,
        "other-ca": other_ca,
        "server": issue("localhost", ca, server=True),
        "client": issue("client-a", ca, client=True),
        "expired": issue("client-b", ca, client=True, expired=True),
        "stranger": issue("stranger", other_ca, client=True),
    }
    for name, (cert, key) in issued.items():
        (out / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (out / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return Pki(out)
