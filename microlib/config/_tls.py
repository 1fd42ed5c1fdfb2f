"""Checks of the PEM files a ``tls`` section (or ``security.propagation``) names, run while
the settings are validated.

A missing file, a file that holds no certificate, an encrypted key or a key
that does not belong to its certificate is reported like any other invalid
value: with the key, where it was set and the file, before a server binds.
cryptography is imported only when a ``tls`` section is present.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["check_certificates", "check_key", "check_signing_key"]


def check_certificates(path: Path) -> list[x509.Certificate]:
    """The PEM certificates in ``path``, the first one being the leaf or the CA.

    Raises:
        PydanticCustomError: the file cannot be read or holds no PEM certificate.
    """
    from cryptography import x509

    data = _read(path)
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise _invalid(f"{str(path)!r} holds no PEM certificate") from None


def check_key(path: Path, cert_file: Path | None) -> None:
    """Check that ``path`` holds an unencrypted PEM private key for ``cert_file``'s certificate.

    Args:
        path: The key file.
        cert_file: The certificate file, or None when it was itself invalid
            (its problem is already reported; the match is not checked).

    Raises:
        PydanticCustomError: naming the file and what is wrong with it.
    """
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = _private_key(path)
    if cert_file is None:
        return
    leaf = check_certificates(cert_file)[0]
    spki = Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        raise _invalid(
            f"{str(path)!r} is not the private key of the certificate in cert_file {str(cert_file)!r}"
        )


def check_signing_key(path: Path) -> None:
    """Check that ``path`` holds an unencrypted PEM private key that signs principal assertions.

    Raises:
        PydanticCustomError: naming the file and what is wrong with it.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    key = _private_key(path)
    if isinstance(key, ec.EllipticCurvePrivateKey) and not isinstance(key.curve, ec.SECP256R1):
        raise _invalid(f"{str(path)!r} is an EC key on {key.curve.name}; use P-256 (ES256)")
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise _invalid(f"{str(path)!r} holds a {type(key).__name__}; use an Ed25519, EC P-256 or RSA key")


def _private_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = _read(path)
    try:
        return load_pem_private_key(data, password=None)
    except TypeError:
        # cryptography raises TypeError for a key that needs a password.
        raise _invalid(f"{str(path)!r} is an encrypted private key; give an unencrypted one") from None
    except ValueError:
        raise _invalid(f"{str(path)!r} holds no PEM private key") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _invalid(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None


def _invalid(message: str) -> PydanticCustomError:
    # The message goes in as a context value: a path holding braces is not a template.
    return PydanticCustomError("tls_file", "{message}", {"message": message})
