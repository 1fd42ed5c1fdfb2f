"""Wire security into a :class:`~microlib.core.service.Service`.

Routes compose the chain when they are declared, which is before the
configuration is final; so :func:`install` puts two stable interceptors in
the ``authn`` and ``authz`` slots at once and builds what they delegate to
from the ``security`` settings when the service starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from microlib.config.model import SecuritySettings
from microlib.core.chain import CallNext
from microlib.core.context import CallContext
from microlib.core.errors import Unavailable
from microlib.core.lifecycle import Component
from microlib.security.authz import Authorizer
from microlib.security.setup import Security

if TYPE_CHECKING:
    from microlib.core.service import Service

__all__ = ["SecurityFeature", "install"]


class SecurityFeature:
    """A lifecycle component holding the service's security, built on start.

    Args:
        settings: Returns the ``security`` section when called (on start).
        authorizers: Extra authorizers after the built-in ones.
        name: The component name.
    """

    def __init__(
        self,
        settings: Callable[[], SecuritySettings],
        *,
        authorizers: Sequence[Authorizer] = (),
        name: str = "security",
    ) -> None:
        self.name = name
        self._settings = settings
        self._authorizers = tuple(authorizers)
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
        security = Security.from_settings(settings, authorizers=self._authorizers, name=self.name)
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
    service: Service,
    *,
    key: str = "security",
    authorizers: Sequence[Authorizer] = (),
) -> SecurityFeature:
    """Install authentication and authorization into ``service``.

    Call it before declaring routes. The settings are read from the config
    section ``key`` when the service starts.

    Args:
        service: The service.
        key: The config section holding :class:`SecuritySettings`.
        authorizers: Extra authorizers (run after the contract checks and OPA).

    Returns:
        The feature (a component already added to the service).
    """

    def settings() -> SecuritySettings:
        value = getattr(service.config, key, None)
        return value if isinstance(value, SecuritySettings) else SecuritySettings.model_validate(value or {})

    feature = SecurityFeature(settings, authorizers=authorizers, name=key)
    service.chain.install("authn", feature.authn)
    service.chain.install("authz", feature.authz)
    service.add(feature)
    return feature
