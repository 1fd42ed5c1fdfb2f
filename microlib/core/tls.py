"""The client certificate a mutual-TLS connection verified, as the call sees it.

Both servers put it in ``ctx.attributes`` under the same keys, once the TLS
handshake has verified it against the configured client CA. cryptography is
imported only when a certificate arrives.
"""

from __future__ import annotations

import functools

__all__ = ["CLIENT_CERTIFICATE_ATTRIBUTE", "CLIENT_SUBJECT_ATTRIBUTE", "subject_of"]

CLIENT_CERTIFICATE_ATTRIBUTE = "microlib.tls.client_certificate"
"""``ctx.attributes`` key: the verified client certificate (the leaf), PEM text."""

CLIENT_SUBJECT_ATTRIBUTE = "microlib.tls.client_subject"
"""``ctx.attributes`` key: that certificate's subject, RFC 4514 (``CN=orders,O=shop``)."""


@functools.lru_cache(maxsize=256)
def subject_of(pem: str) -> str:
    """The subject of a PEM certificate as an RFC 4514 string.

    Cached: a connection carries many calls with the same certificate.
    """
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode("ascii")).subject.rfc4514_string()
