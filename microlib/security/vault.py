"""HashiCorp Vault KV version 2 as a secret store (hvac), scheme ``vault``.

``vault:kv/app#db_password`` reads key ``db_password`` of secret ``app`` in
the KV v2 engine mounted at ``kv``. Without ``#key`` the secret must hold a
single key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from microlib.config.model import VaultSettings
from microlib.core.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable

__all__ = ["VaultSecretStore"]


class VaultSecretStore:
    """Reads KV v2 secrets.

    The token is read from ``token_file`` on every request when set, so a
    Vault agent may rotate it underneath.

    Args:
        url: Vault's address.
        token: A static token.
        token_file: A file holding the token (a Vault agent sink).
        namespace: The Vault Enterprise namespace.
        timeout: Seconds per request.
        verify: TLS verification (a CA bundle path, or a bool).

    Raises:
        InvalidArgument: hvac is not installed (``pip install 'microlib[vault]'``).
    """

    scheme = "vault"

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        token_file: str | None = None,
        namespace: str | None = None,
        timeout: float = 5.0,
        verify: bool | str = True,
    ) -> None:
        try:
            import hvac
        except ImportError:
            raise InvalidArgument("secrets.vault needs hvac: pip install 'microlib[vault]'") from None
        self._token_file = Path(token_file) if token_file else None
        self._client: Any = hvac.Client(
            url=url, token=token, namespace=namespace, timeout=timeout, verify=verify
        )

    @classmethod
    def from_settings(cls, settings: VaultSettings) -> VaultSecretStore:
        """Build from the ``secrets.vault`` settings."""
        return cls(
            settings.url,
            token=settings.token.get_secret_value() if settings.token else None,
            token_file=settings.token_file,
            namespace=settings.namespace,
            timeout=settings.timeout,
            verify=settings.verify,
        )

    def read(self, name: str) -> str:
        """The value at ``mount/path#key``.

        Raises:
            InvalidArgument: The name has no mount or path.
            NotFound: No such secret, version or key.
            PermissionDenied: The token may not read it.
            Unavailable: Vault cannot be reached or is sealed.
        """
        import hvac.exceptions as errors
        import requests

        location, _, key = name.partition("#")
        mount, _, path = location.partition("/")
        if not mount or not path:
            raise InvalidArgument(f"secret vault:{name}: expected vault:<mount>/<path>#<key>")
        reference = f"vault:{location}"
        if self._token_file is not None:
            self._client.token = self._token_file.read_text(encoding="utf-8").strip()
        try:
            response = self._client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=mount, raise_on_deleted_version=True
            )
        except errors.InvalidPath:
            raise NotFound(f"secret {reference}: no such secret") from None
        except errors.Forbidden:
            raise PermissionDenied(f"secret {reference}: the Vault token may not read it") from None
        except (errors.VaultError, requests.RequestException) as exc:
            raise Unavailable(f"secret {reference}: Vault failed ({type(exc).__name__})") from None
        data = response.get("data", {}).get("data") or {}
        if not key:
            if len(data) != 1:
                raise InvalidArgument(f"secret {reference}: holds {len(data)} keys; name one with #key")
            return str(next(iter(data.values())))
        if key not in data:
            raise NotFound(f"secret {reference}: no key {key!r}")
        return str(data[key])
