"""Request validation declared in the contract, run before the handler.

Two kinds of rule are enforced on the upb (protobuf) form of a message:
``google.api.field_behavior = REQUIRED`` and ``buf.validate`` rules, the
latter by the protovalidate library. Every violation becomes a
:class:`~microlib.core.errors.FieldViolation` (field path, rule id, message)
of one ``InvalidArgument``, which the gRPC edge renders as a
``google.rpc.BadRequest``.

A message type whose rules are all simple comparisons is first checked by
predicates compiled from them (:mod:`microlib.grpc._simple_rules`, ADR 0016)
on the message as it was decoded; only a message they refuse is converted and
checked as above, so the violations reported are the same either way.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, cast

from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

from microlib.contract.definition import METHOD_ATTRIBUTE
from microlib.core.chain import Stage
from microlib.core.context import CallContext, Rejected
from microlib.core.errors import FieldViolation, Internal, InvalidArgument
from microlib.grpc._simple_rules import Check, compile_check

if TYPE_CHECKING:
    import protovalidate

__all__ = ["ValidationInterceptor", "make_validator"]

_REQUIRED = field_behavior_pb2.FieldBehavior.REQUIRED
_BUF_VALIDATE = 1159  # buf.validate's extension of FieldOptions, MessageOptions and OneofOptions
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
    A message type that declares no ``buf.validate`` rule, in itself or in
    any message it may contain, is never handed to protovalidate, which
    then is not even imported.
    """
    descriptor = cast(Descriptor, message_class.DESCRIPTOR)
    name = descriptor.full_name
    # (fast check or None, REQUIRED plan or None, protovalidate's validator or None):
    # decided at the first call, when the type of the messages to check is known.
    compiled: tuple[Check | None, _Plan | None, protovalidate.Validator | None] | None = None

    def validate(message: Any) -> None:
        nonlocal compiled
        if compiled is None:
            plan = _plan_of(descriptor)
            rules = _declares_rules(descriptor)
            fast = _fast_check(descriptor, type(message), plan) if plan is not None or rules else None
            compiled = (fast, plan, _shared_validator() if rules else None)
        fast, plan, validator = compiled
        # A message the fast check refuses is checked again below, so that its violations
        # are protovalidate's own.
        if fast is not None and fast(message):
            return
        upb = to_upb(message)
        missing = _missing(upb, plan) if plan is not None else None
        violations = (
            [FieldViolation(path, "value is required", "required") for path in missing] if missing else []
        )
        if validator is not None:
            try:
                found = validator.collect_violations(upb)
            except Exception as exc:
                failure = _rule_failure(name, exc)
                if failure is exc:
                    raise
                raise failure from exc
            if found:
                _merge(violations, found)
        if violations:
            raise InvalidArgument(_summary(name, violations), violations=violations)

    return validate


def _fast_check(descriptor: Descriptor, message_type: type, plan: _Plan | None) -> Check | None:
    """The compiled predicate of :mod:`microlib.grpc._simple_rules` for a message type
    whose contained messages have nothing to check, or None (protovalidate checks it)."""
    if not (issubclass(message_type, Message) or dataclasses.is_dataclass(message_type)):
        return None
    for field in descriptor.fields:
        held = _held(field)
        if held is not None and (_declares_rules(held) or _plan_of(held) is not None):
            return None
    required = [name for name, _ in plan[0]] if plan is not None else []
    return compile_check(descriptor, message_type, required)


def _merge(violations: list[FieldViolation], found: list[protovalidate.Violation]) -> None:
    """Appends protovalidate's violations, but not one a REQUIRED check already reported."""
    seen = {(v.field, v.rule) for v in violations}
    for violation in found:
        proto = violation.proto
        converted = FieldViolation(_path(proto.field), proto.message, proto.rule_id)
        if (converted.field, converted.rule) not in seen:
            violations.append(converted)


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
            stream = _STREAMS.get(type(request))
            if stream is None:
                stream = _STREAMS[type(request)] = isinstance(request, AsyncIterator)
            if stream:
                ctx.request = _validated(request, validate)
            else:
                validate(request)


# Whether requests of a type are client streams: isinstance on an ABC is a Python-level
# call, dearer than the validation of a small message, so it is asked once per type.
_STREAMS: dict[type, bool] = {}


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


# A message type's REQUIRED plan: ``(required, nested)``, compiled once per type so a
# call reads no descriptor. ``required`` holds ``(name, present)`` per REQUIRED field in
# field order, ``present(message)`` being falsy when the field is unset; ``nested`` holds
# ``(name, shape, plan)`` per field whose messages may hold a REQUIRED field, in field
# order. A plan is a list so that a message type that contains itself, directly or
# through others, can refer to its own plan.
_Present = Callable[[Message], Any]
_Plan = list[Any]
_SINGLE, _LIST, _MAP = range(3)
_REQUIRED_PLANS: dict[Descriptor, _Plan | None] = {}
_RULES: dict[Descriptor, bool] = {}


def _missing(message: Message, plan: _Plan) -> list[str]:
    """Paths of the REQUIRED fields left unset in ``message``, then in the messages it holds.

    Paths are built only for fields found missing, so a valid message costs no string.
    """
    required, nested = plan
    missing = []
    for name, present in required:
        if not present(message):
            missing.append(name)
    for name, shape, inner in nested:
        if shape == _SINGLE:
            if message.HasField(name) and (found := _missing(getattr(message, name), inner)):
                missing += _under(f"{name}.", found)
        elif shape == _LIST:
            for index, item in enumerate(getattr(message, name)):
                if found := _missing(item, inner):
                    missing += _under(f"{name}[{index}].", found)
        else:
            for key, item in getattr(message, name).items():
                if found := _missing(item, inner):
                    missing += _under(f"{name}[{_key(key)}].", found)
    return missing


def _under(prefix: str, paths: list[str]) -> list[str]:
    # Not a comprehension in _missing: one there would turn its loop variables into
    # closure cells, which every call, even of a valid message, would pay for.
    return [prefix + path for path in paths]


def _plan_of(descriptor: Descriptor) -> _Plan | None:
    """The REQUIRED plan of a message type; None when none of its fields, nor of any
    message it may contain, is REQUIRED."""
    if descriptor not in _REQUIRED_PLANS:
        _REQUIRED_PLANS.update(_compile(descriptor))
    return _REQUIRED_PLANS[descriptor]


def _compile(root: Descriptor) -> dict[Descriptor, _Plan | None]:
    """Plans for ``root`` and every message type it may contain, which are only complete
    once the whole graph is known: a type is worth descending into when a REQUIRED field
    is reachable from it, cycles included."""
    types = _reachable(root)
    required = {d: [f for f in d.fields if _REQUIRED in _behaviors(f)] for d in types}
    checked = {d for d in types if required[d]}
    grown = True
    while grown:
        grown = False
        for d in types:
            if d not in checked and any(_held(f) in checked for f in d.fields):
                checked.add(d)
                grown = True
    plans: dict[Descriptor, _Plan] = {d: [] for d in checked}
    for d, plan in plans.items():
        present = tuple((f.name, _presence(f)) for f in required[d])
        nested = tuple(
            (f.name, _MAP if _is_map(f) else _LIST if f.is_repeated else _SINGLE, plans[held])
            for f in d.fields
            if (held := _held(f)) in checked
        )
        plan += [present, nested]
    return {d: plans.get(d) for d in types}


def _reachable(root: Descriptor) -> list[Descriptor]:
    found = [root]
    for d in found:  # grows while it is read
        for f in d.fields:
            held = _held(f)
            if held is not None and held not in found:
                found.append(held)
    return found


def _held(field: FieldDescriptor) -> Descriptor | None:
    """The message type a field holds (a map's value type); None for scalars."""
    target = field.message_type
    if target is not None and _is_map(field):
        target = target.fields_by_name["value"].message_type
    return target


def _presence(field: FieldDescriptor) -> _Present:
    if field.has_presence:
        return operator.methodcaller("HasField", field.name)
    # An empty list or map, or a scalar's zero value, is unset.
    return operator.attrgetter(field.name)


def _declares_rules(descriptor: Descriptor) -> bool:
    """Whether protovalidate has anything to check: a ``buf.validate`` option on the
    message type or on any message type it may contain, their fields or their oneofs."""
    rules = _RULES.get(descriptor)
    if rules is None:
        rules = _RULES[descriptor] = any(
            _has_extension(options, _BUF_VALIDATE)
            for d in _reachable(descriptor)
            for options in (d.GetOptions(), *(p.GetOptions() for p in (*d.fields, *d.oneofs)))
        )
    return rules


def _has_extension(options: Message, number: int) -> bool:
    # Known to the options' pool, or kept as an unknown field when its file was not loaded.
    unknown = UnknownFieldSet(options)
    return any(field.number == number for field, _ in options.ListFields()) or any(
        unknown[index].field_number == number for index in range(len(unknown))
    )


def _behaviors(field: FieldDescriptor) -> list[int]:
    # Reparsed so the extension is found whichever pool the message came from.
    options = descriptor_pb2.FieldOptions.FromString(field.GetOptions().SerializeToString())
    return list(options.Extensions[field_behavior_pb2.field_behavior])


def _is_map(field: FieldDescriptor) -> bool:
    return bool(
        field.is_repeated and field.message_type is not None and field.message_type.GetOptions().map_entry
    )


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
