"""The ``${secret:...}`` config resolver: secret references in config files.

``${secret:vault:kv/app#db_password}``, ``${secret:env:DB_PASSWORD}``,
``${secret:file:/run/secrets/db}``, ``${secret:aws:prod/app#password}``.

Config is read before the service's settings exist, so the stores are built
from the conventional environment: Vault from ``VAULT_ADDR`` with
``VAULT_TOKEN`` or ``VAULT_TOKEN_FILE`` (and ``VAULT_NAMESPACE``), AWS from
boto3's default chain (``AWS_REGION``, ``AWS_ENDPOINT_URL_SECRETS_MANAGER``...).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from microlib.config.resolvers import get_resolver, register_resolver
from microlib.core.errors import InvalidArgument

if TYPE_CHECKING:
    from microlib.security.secrets import Secrets

__all__ = ["RESOLVER_NAME", "register", "resolve_reference"]

RESOLVER_NAME = "secret"
"""The name to register :func:`resolve_reference` under with the config loader."""


def resolve_reference(reference: str) -> str:
    """The value of a secret reference, for config interpolation.

    Args:
        reference: ``<scheme>:<name>[#<key>]``, the text after ``secret:``.

    Returns:
        The plain value (the config loader must mark it as secret).

    Raises:
        InvalidArgument: Malformed reference or unconfigured scheme.
        NotFound, PermissionDenied, Unavailable: From the store.
    """
    return _from_environment().resolve_reference(reference)


def register() -> Callable[[], None]:
    """Register :func:`resolve_reference` as the sensitive ``secret`` config resolver.

    Call it once, before the configuration is loaded; values it produces are
    masked wherever the configuration is printed. Calling it again while it
    is registered changes nothing.

    Returns:
        A function that unregisters it (a no-op if it was already registered).
    """
    if get_resolver(RESOLVER_NAME) is not None:
        return lambda: None
    return register_resolver(RESOLVER_NAME, resolve_reference, sensitive=True)


@functools.cache
def _from_environment() -> Secrets:
    # The stores load at the first reference a configuration resolves, not at every start.
    from microlib.security.secrets import EnvSecretStore, FileSecretStore, Secrets, SecretStore

    stores: list[SecretStore] = [EnvSecretStore(), FileSecretStore()]
    if os.environ.get("VAULT_ADDR"):
        from microlib.security.vault import VaultSecretStore

        stores.append(
            VaultSecretStore(
                os.environ["VAULT_ADDR"],
                token=os.environ.get("VAULT_TOKEN"),
                token_file=os.environ.get("VAULT_TOKEN_FILE"),
                namespace=os.environ.get("VAULT_NAMESPACE"),
            )
        )
    try:
        from microlib.security.aws import AwsSecretStore

        stores.append(AwsSecretStore())
    except InvalidArgument:  # boto3 absent: the aws scheme is then reported as unconfigured
        pass
    return Secrets(stores)
