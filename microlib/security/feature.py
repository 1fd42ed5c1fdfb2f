"""Wire security into a :class:`~microlib.service.Service`.

Routes compose the chain when they are declared, which is before the
configuration is final; so :func:`install` puts two stable interceptors in
the ``authn`` and ``authz`` slots at once and builds what they delegate to
from the ``security`` settings when the service starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from microlib.config.model import SecuritySettings
from microlib.core.chain import CallNext
from microlib.core.context import CallContext
from microlib.core.errors import Unavailable
from microlib.core.lifecycle import Component
from microlib.security.enforcement import unenforced

if TYPE_CHECKING:
    # Names for the type checker only: with security disabled (or no contract declaring
    # any), the authorizers, requirements and schemes are never loaded.
    from microlib.config import Subscriber
    from microlib.config.model import Settings
    from microlib.core.chain import Chain
    from microlib.core.propagation import Propagation
    from microlib.security.authz import Authorizer
    from microlib.security.credentials import CredentialVerifier
    from microlib.security.requirements import SecurityRequirement
    from microlib.security.setup import Security

__all__ = ["SecurityFeature", "install"]


class _Service(Protocol):
    """What :func:`install` uses of a service: a :class:`~microlib.service.Service` (the
    composition root, a layer above this one, which this module does not import)."""

    name: str
    chain: Chain
    propagation: Propagation

    @property
    def config(self) -> Settings: ...

    def add(self, component: Component) -> None: ...

    def on_config_change(self, callback: Subscriber) -> Subscriber: ...


log = structlog.get_logger("microlib.security")


class SecurityFeature:
    """A lifecycle component holding the service's security, built on start.

    Args:
        settings: Returns the ``security`` section when called (on start).
        authorizers: Extra authorizers after the built-in ones.
        verifiers: Credential verifiers by OpenAPI security scheme name.
        name: The component name.
        service: The service's name (the default signer of principal assertions).
    """

    def __init__(
        self,
        settings: Callable[[], SecuritySettings],
        *,
        authorizers: Sequence[Authorizer] = (),
        verifiers: Mapping[str, CredentialVerifier] | None = None,
        name: str = "security",
        service: str = "service",
    ) -> None:
        self.name = name
        self._service = service
        self._settings = settings
        self._authorizers = tuple(authorizers)
        self._verifiers = dict(verifiers or {})
        self._security: Security | None = None
        self._enabled = True
        self.authn = _Slot(self)
        self.authz = _Slot(self)

    @property
    def security(self) -> Security:
        """The built interceptors and components.

        Raises:
            Unavailable: The service has not started yet.
        """
        if self._security is None:
            raise Unavailable("security is not started yet", reason="SECURITY_NOT_STARTED")
        return self._security

    async def start(self) -> None:
        """Build from the settings and start the key sources and OPA client."""
        settings = self._settings()
        self._enabled = settings.enabled
        if not settings.enabled:
            # Nothing is enforced, so nothing is built: no key sources to fetch, no
            # policy client, and none of PyJWT and cryptography imported.
            return
        from microlib.security.setup import Security

        security = Security.from_settings(
            settings,
            authorizers=self._authorizers,
            verifiers=self._verifiers,
            name=self.name,
            service=self._service,
        )
        started: list[Component] = []
        try:
            for component in security.components:
                await component.start()
                started.append(component)
        except BaseException:
            for component in reversed(started):
                await component.stop()
            raise
        self._security = security
        self.authn.target = security.authn.intercept
        self.authz.target = security.authz.intercept

    def apply(self, settings: SecuritySettings) -> None:
        """Apply a reload of the section: its reloadable fields (``public_paths``,
        ``public_methods``, ``methods``) decide every call from the next one on. Before the
        start there is nothing to change: the start reads the settings in force.

        Args:
            settings: The reloaded section.
        """
        if self._security is not None:
            self._security.apply(settings)

    def inject(self, ctx: CallContext | None, headers: dict[str, str], content: bytes) -> None:
        """Sign the sending call's principal into an outgoing message's or job's ``headers``.

        Nothing is added while security is disabled or not started, or
        without ``security.propagation.signing_key_file``.
        """
        signer = self._security.signer if self._security is not None and self._enabled else None
        if signer is not None:
            signer.inject(ctx, headers, content)

    def unenforced(self, declared: Mapping[str, SecurityRequirement]) -> list[str]:
        """What of the served operations' security this cannot enforce (checked before the start).

        Args:
            declared: The requirement of each served operation, by where it is
                (``GET /api/books (listBooks)``).

        Returns:
            One problem per scheme that nothing enforces, naming its operations;
            none when ``security.enabled`` is false (nothing is enforced, by choice).
        """
        settings = self._settings()
        if not settings.enabled:
            if declared:
                log.warning("security_disabled", operations=len(declared), setting=f"{self.name}.enabled")
            return []
        return unenforced(declared, self._verifiers, issuers=bool(settings.issuers))

    async def stop(self) -> None:
        """Stop the components started with it."""
        if self._security is not None:
            for component in reversed(self._security.components):
                await component.stop()

    async def check(self) -> Mapping[str, Any] | None:
        """The health of each key source and policy client, by name.

        Raises:
            Unavailable: Not started, or a component is unhealthy.
        """
        if not self._enabled:
            return {"enabled": False}
        return {component.name: await component.check() for component in self.security.components}


class _Slot:
    """The interceptor installed in a chain slot; delegates once started."""

    def __init__(self, feature: SecurityFeature) -> None:
        self._feature = feature
        self.target: Callable[[CallContext, CallNext], Awaitable[Any]] | None = None

    async def intercept(self, ctx: CallContext, call_next: CallNext) -> Any:
        if not self._feature._enabled:
            return await call_next(ctx)
        target = self.target
        if target is None:
            raise Unavailable("security is not started yet", reason="SECURITY_NOT_STARTED")
        return await target(ctx, call_next)


def install(
    service: _Service,
    *,
    key: str = "security",
    authorizers: Sequence[Authorizer] = (),
    verifiers: Mapping[str, CredentialVerifier] | None = None,
) -> SecurityFeature:
    """Install authentication and authorization into ``service``.

    Call it before declaring routes. The settings are read from the config
    section ``key`` when the service starts. The service refuses to start
    when a security scheme its OpenAPI operations require has nothing to
    enforce it (see :mod:`microlib.security.enforcement`).

    Args:
        service: The service.
        key: The config section holding :class:`SecuritySettings`.
        authorizers: Extra authorizers (run after the contract checks and OPA).
        verifiers: Verifiers by OpenAPI security scheme name: a
            :class:`~microlib.security.BasicVerifier` for ``http`` basic, an
            :class:`~microlib.security.ApiKeyVerifier` for ``apiKey``, a
            :class:`~microlib.security.RequestVerifier` for schemes microlib
            has no reader for (``http`` digest, ``mutualTLS``...). Bearer,
            ``oauth2`` and ``openIdConnect`` schemes use ``security.issuers``.

    Returns:
        The feature (a component already added to the service).
    """

    def section(config: Settings) -> SecuritySettings:
        value = getattr(config, key, None)
        return value if isinstance(value, SecuritySettings) else SecuritySettings.model_validate(value or {})

    def reloaded(old: Settings, new: Settings, changed: tuple[str, ...]) -> None:
        if any(path.startswith(f"{key}.") for path in changed):
            feature.apply(section(new))

    feature = SecurityFeature(
        lambda: section(service.config),
        authorizers=authorizers,
        verifiers=verifiers,
        name=key,
        service=service.name,
    )
    service.chain.install("authn", feature.authn)
    service.chain.install("authz", feature.authz)
    service.propagation.add(feature.inject)
    service.on_config_change(reloaded)
    service.add(feature)
    return feature
