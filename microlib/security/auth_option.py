"""The ``(microlib.v1.auth)`` and ``(microlib.v1.default_auth)`` options, decoded by protobuf.

The one decoder of ``contracts/microlib/v1/auth.proto``'s options, for the
runtime (security requirements from a service's descriptor set) and for the
generator (``microlib_codegen`` reads the rules of the contract it compiles).
Neither has a compiled module for ``auth.proto``: in a ``MethodOptions`` or
``ServiceOptions`` the option is an extension field protobuf keeps as
unknown. So the options' bytes are parsed, by protobuf, into a message
declaring only that field (number 51770, an ``AuthRule``), built in a private
descriptor pool; every other option stays an unknown field of it.
``tests/security/test_auth_option.py`` holds the declaration to ``auth.proto``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

__all__ = ["AUTH_FIELD", "AuthOption", "auth_option", "auth_rules", "effective_auth"]

AUTH_FIELD = 51770
"""The field number of both ``microlib.v1.auth`` and ``microlib.v1.default_auth``."""


@dataclass(frozen=True)
class AuthOption:
    """A ``microlib.v1.AuthRule``: what a caller needs to call a method.

    Args:
        public: No authentication at all.
        scopes: Scopes the caller must all hold.
        roles: Roles of which the caller must hold at least one.
    """

    public: bool = False
    scopes: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


def auth_option(options: bytes) -> AuthOption | None:
    """The rule a serialized ``MethodOptions`` or ``ServiceOptions`` declares, if any.

    Raises:
        ValueError: The bytes are not a valid options message.
    """
    try:
        view: Any = _OPTIONS.FromString(options)
    except DecodeError as exc:
        raise ValueError(f"options do not parse: {exc}") from exc
    if not view.HasField("auth"):
        return None
    rule = view.auth
    return AuthOption(rule.public, tuple(rule.scopes), tuple(rule.roles))


def effective_auth(method_options: bytes, service_options: bytes) -> AuthOption | None:
    """A method's own ``auth`` rule, else its service's ``default_auth``, else None."""
    return auth_option(method_options) or auth_option(service_options)


def auth_rules(file_descriptor_set: bytes) -> dict[str, AuthOption]:
    """The effective rule of every method in a serialized ``FileDescriptorSet``.

    Returns:
        Rules by ``package.Service/Method``; methods with neither option are absent.

    Raises:
        ValueError: The bytes are not a valid descriptor set.
    """
    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(file_descriptor_set).file
    except DecodeError as exc:
        raise ValueError(f"file_descriptor_set does not parse: {exc}") from exc
    rules: dict[str, AuthOption] = {}
    for file in files:
        prefix = f"{file.package}." if file.package else ""
        for service in file.service:
            default = auth_option(service.options.SerializeToString())
            for method in service.method:
                rule = auth_option(method.options.SerializeToString()) or default
                if rule is not None:
                    rules[f"{prefix}{service.name}/{method.name}"] = rule
    return rules


def _options_view() -> descriptor_pb2.FileDescriptorProto:
    # auth.proto's AuthRule, and a message holding it at the extensions' number.
    field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="microlib/v1/auth_view.proto", package="microlib.v1.view", syntax="proto3"
    )
    rule = file.message_type.add(name="AuthRule")
    rule.field.add(name="public", number=1, type=field.TYPE_BOOL, label=field.LABEL_OPTIONAL)
    rule.field.add(name="scopes", number=2, type=field.TYPE_STRING, label=field.LABEL_REPEATED)
    rule.field.add(name="roles", number=3, type=field.TYPE_STRING, label=field.LABEL_REPEATED)
    view = file.message_type.add(name="Options")
    view.field.add(
        name="auth",
        number=AUTH_FIELD,
        type=field.TYPE_MESSAGE,
        type_name=".microlib.v1.view.AuthRule",
        label=field.LABEL_OPTIONAL,
    )
    return file


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_options_view())
_OPTIONS = message_factory.GetMessageClass(_POOL.FindMessageTypeByName("microlib.v1.view.Options"))
