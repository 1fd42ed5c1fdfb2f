"""The broker adapter ``messaging.url`` names: :func:`open_broker`.

A module of its own, above the adapters: they import the types of
:mod:`~microlib.messaging.broker`, so a factory there would import them back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from microlib.config.model import MessagingSettings
    from microlib.messaging.broker import Broker

__all__ = ["open_broker"]


def open_broker(settings: MessagingSettings, *, client_name: str) -> Broker:
    """The broker ``settings.url`` names.

    The driver of a production broker is imported only here, and only for
    the scheme in use.

    Args:
        settings: The ``messaging`` section.
        client_name: Names this instance to the broker (connection name,
            consumer name, client id).

    Raises:
        ValueError: the URL's scheme is none of ``memory``, ``amqp``,
            ``amqps``, ``kafka``, ``redis``, ``rediss``, naming the setting.
        ImportError: the broker's driver is missing, naming the extra.
    """
    scheme = settings.url.partition("://")[0]
    if scheme == "memory":
        from microlib.messaging.memory import MemoryBroker

        return MemoryBroker(settings.url, dead_letter_suffix=settings.dead_letter_suffix)
    if scheme in ("amqp", "amqps"):
        from microlib.messaging.rabbit import RabbitBroker

        return RabbitBroker(settings, client_name=client_name)
    if scheme == "kafka":
        from microlib.messaging.kafka import KafkaBroker

        return KafkaBroker(settings, client_name=client_name)
    if scheme in ("redis", "rediss"):
        from microlib.messaging.redis import RedisBroker

        return RedisBroker(settings, client_name=client_name)
    raise ValueError(
        f"messaging.url {settings.url!r}: the scheme must be memory://, amqp://, amqps://, "
        "kafka://, redis:// or rediss://"
    )
