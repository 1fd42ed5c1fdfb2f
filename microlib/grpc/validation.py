"""Request validation declared in the contract, run before the handler.

Two kinds of rule are enforced on the upb (protobuf) form of a message:
``google.api.field_behavior = REQUIRED`` and ``buf.validate`` rules, the
latter by the protovalidate library. Every violation becomes a
:class:`~microlib.core.errors.FieldViolation` (field path, rule id, message)
of one ``InvalidArgument``, which the gRPC edge renders as a
``google.rpc.BadRequest``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, cast

from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from microlib.core.chain import Stage
from microlib.core.context import CallContext, Rejected
from microlib.core.errors import FieldViolation, Internal, InvalidArgument
from microlib.grpc.definition import METHOD_ATTRIBUTE

if TYPE_CHECKING:
    import protovalidate

__all__ = ["ValidationInterceptor", "make_validator"]

_REQUIRED = field_behavior_pb2.FieldBehavior.REQUIRED
_validator: protovalidate.Validator | None = None


def make_validator(message_class: type[Message], to_upb: Callable[[Any], Message]) -> Callable[[Any], None]:
    """A function that checks one message against its contract's rules.

    Args:
        message_class: The protobuf (upb) class of the message.
        to_upb: Converts the message users see into ``message_class``
            (identity when they already use protobuf messages).

    Returns:
        ``validate(message)``, which returns None when the message is valid.
        It raises ``InvalidArgument`` with one violation per broken rule
        (field path such as ``items[2].sku``, rule id such as
        ``string.min_len`` or ``required``, message).

    The rules are compiled at the first validation, not here: protovalidate
    (its CEL runtime and descriptors) is the largest import of a gRPC
    service, and building every generated package's validators would make
    each process start pay for it before it is ready. Rules that do not
    compile then fail that first call with ``Internal``, naming the message.
    """
    name = message_class.DESCRIPTOR.full_name
    required = _RequiredRules()

    def validate(message: Any) -> None:
        upb = to_upb(message)
        violations = required.check(upb, "")
        try:
            found = _shared_validator().collect_violations(upb)
        except Exception as exc:
            failure = _rule_failure(name, exc)
            if failure is exc:
                raise
            raise failure from exc
        seen = {(v.field, v.rule) for v in violations}
        for violation in found:
            proto = violation.proto
            converted = FieldViolation(_path(proto.field), proto.message, proto.rule_id)
            if (converted.field, converted.rule) not in seen:
                violations.append(converted)
        if violations:
            raise InvalidArgument(_summary(name, violations), violations=violations)

    return validate


class ValidationInterceptor(Stage):
    """The ``validation`` slot: runs the method's ``validate_request``.

    The method's definition is read from
    ``ctx.attributes["microlib.method"]``; calls without one (or whose
    method declares no rules) pass through. For client streaming every
    request is validated as it is read.
    """

    def enter(self, ctx: CallContext) -> None:
        """Validate ``ctx.request`` before the rest of the chain runs.

        Raises:
            InvalidArgument: the request breaks a rule of its contract.
        """
        method = ctx.attributes.get(METHOD_ATTRIBUTE)
        validate = getattr(method, "validate_request", None)
        request = ctx.request
        # A request that did not even decode is raised by the chain, right after.
        if validate is not None and type(request) is not Rejected:
            if isinstance(request, AsyncIterator):
                ctx.request = _validated(request, validate)
            else:
                validate(request)


async def _validated(requests: AsyncIterator[Any], validate: Callable[[Any], None]) -> AsyncIterator[Any]:
    async for request in requests:
        validate(request)
        yield request


def _rule_failure(name: str, exc: Exception) -> Exception:
    """``Internal`` for rules that do not compile or evaluate; any other error as it is."""
    import protovalidate

    if isinstance(exc, protovalidate.CompilationError):
        return Internal(f"buf.validate rules of {name} do not compile: {exc}")
    if isinstance(exc, protovalidate.EvaluationError):
        return Internal(f"a validation rule of {name} failed to evaluate")
    return exc


def _shared_validator() -> protovalidate.Validator:
    # One validator caches the compiled rules of every message it has seen.
    global _validator
    if _validator is None:
        import protovalidate

        _validator = protovalidate.Validator()
    return _validator


# The REQUIRED fields of a message type, and the fields worth descending into.
_Plan = tuple[tuple[FieldDescriptor, ...], tuple[FieldDescriptor, ...]]


class _RequiredRules:
    """``field_behavior = REQUIRED`` checks, planned once per message type."""

    def __init__(self) -> None:
        self._plans: dict[str, _Plan] = {}

    def check(self, message: Message, prefix: str) -> list[FieldViolation]:
        required, nested = self._plan(cast(Descriptor, message.DESCRIPTOR))
        violations = [
            FieldViolation(prefix + field.name, "value is required", "required")
            for field in required
            if not _is_set(message, field)
        ]
        for field in nested:
            path = prefix + field.name
            value = getattr(message, field.name)
            if _is_map(field):
                for key in value:
                    violations += self.check(value[key], f"{path}[{_key(key)}].")
            elif _is_repeated(field):
                for index, item in enumerate(value):
                    violations += self.check(item, f"{path}[{index}].")
            elif message.HasField(field.name):
                violations += self.check(value, path + ".")
        return violations

    def _plan(
        self, descriptor: Descriptor
    ) -> tuple[tuple[FieldDescriptor, ...], tuple[FieldDescriptor, ...]]:
        plan = self._plans.get(descriptor.full_name)
        if plan is None:
            # Placeholder first, so a recursive message type terminates.
            self._plans[descriptor.full_name] = ((), ())
            required = tuple(f for f in descriptor.fields if _REQUIRED in _behaviors(f))
            nested = tuple(f for f in descriptor.fields if self._worth_descending(f))
            plan = self._plans[descriptor.full_name] = (required, nested)
        return plan

    def _worth_descending(self, field: FieldDescriptor) -> bool:
        target = field.message_type
        if target is not None and _is_map(field):
            target = target.fields_by_name["value"].message_type
        if target is None or target.full_name.startswith("google.protobuf."):
            return False
        required, nested = self._plan(target)
        return bool(required or nested)


def _behaviors(field: FieldDescriptor) -> list[int]:
    # Reparsed so the extension is found whichever pool the message came from.
    options = descriptor_pb2.FieldOptions.FromString(field.GetOptions().SerializeToString())
    return list(options.Extensions[field_behavior_pb2.field_behavior])


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _is_map(field: FieldDescriptor) -> bool:
    return (
        _is_repeated(field) and field.message_type is not None and field.message_type.GetOptions().map_entry
    )


def _is_set(message: Message, field: FieldDescriptor) -> bool:
    if _is_repeated(field):
        return len(getattr(message, field.name)) > 0
    if field.has_presence:
        return bool(message.HasField(field.name))
    return bool(getattr(message, field.name))


def _key(key: Any) -> str:
    return f'"{key}"' if isinstance(key, str) else str(key).lower() if isinstance(key, bool) else str(key)


def _path(field_path: Any) -> str:
    parts: list[str] = []
    # A rule of the whole message (``buf.validate.message``) names no field.
    for element in field_path.elements if field_path is not None else ():
        parts.append(("." if parts else "") + element.field_name)
        subscript = element.subscript
        if subscript is not None:
            parts.append(f"[{_key(subscript.value)}]")
    return "".join(parts)


def _summary(message_name: str, violations: list[FieldViolation]) -> str:
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return f"invalid {message_name}: {first.field}: {first.description}{more}"
