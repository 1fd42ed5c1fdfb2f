"""Compile the ``buf.validate`` rules of a contract at generation time.

At run time protovalidate compiles a message's rules at its first validation
(see :func:`microlib.grpc.validation.make_validator`), so a rule that does not
compile would otherwise surface as ``INTERNAL`` on the first call after deploy.
Here protovalidate compiles them through its public API: an empty instance
of every message that declares rules is validated, and its
``CompilationError`` (not violations, which an empty message may well have)
is a contract error. Only a failing message is taken apart, one rule at a
time, to say which field and rule broke.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import protovalidate
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from microlib_codegen._buf_validate import BUF_VALIDATE, extension_payload
from microlib_codegen._wire import length_delimited, without

__all__ = ["RuleError", "uncompilable_rules"]

# SourceCodeInfo path components (descriptor.proto field numbers).
_MESSAGE_TYPE, _NESTED, _FIELD, _FIELD_OPTIONS, _MESSAGE_OPTIONS = 4, 3, 2, 8, 7


@dataclass(frozen=True, slots=True)
class RuleError:
    """A rule protovalidate cannot compile, where the contract declares it (1-based)."""

    file: str
    line: int
    column: int
    text: str


@dataclass(frozen=True, slots=True)
class _Message:
    index: int
    file: descriptor_pb2.FileDescriptorProto
    path: tuple[int, ...]
    proto: descriptor_pb2.DescriptorProto


def uncompilable_rules(data: bytes, names: Iterable[str]) -> list[RuleError]:
    """The rules of messages ``names`` that protovalidate cannot compile.

    Args:
        data: The serialized ``FileDescriptorSet`` (imports and source info included).
        names: Full names of the messages to check; those without ``buf.validate`` rules cost nothing.
    """
    fds = descriptor_pb2.FileDescriptorSet.FromString(data)
    located = dict(_messages(fds))
    wanted = [name for name in names if _declares_rules(located[name].proto)]
    if not wanted:
        return []
    pool = _pool(fds.file)
    validator = protovalidate.Validator()
    errors = []
    for name in wanted:
        reason = _compile_failure(validator, pool, name)
        if reason is not None:
            errors.extend(_locate(fds, located[name], name, reason))
    return errors


def _declares_rules(msg: descriptor_pb2.DescriptorProto) -> bool:
    return _payload(msg.options) is not None or any(_payload(f.options) is not None for f in msg.field)


def _payload(options: descriptor_pb2.MessageOptions | descriptor_pb2.FieldOptions) -> bytes | None:
    return extension_payload(options.SerializeToString(), BUF_VALIDATE)


def _messages(fds: descriptor_pb2.FileDescriptorSet) -> Iterator[tuple[str, _Message]]:
    def nested(
        index: int,
        file: descriptor_pb2.FileDescriptorProto,
        msg: descriptor_pb2.DescriptorProto,
        scope: str,
        path: tuple[int, ...],
    ) -> Iterator[tuple[str, _Message]]:
        full = f"{scope}.{msg.name}".lstrip(".")
        yield full, _Message(index, file, path, msg)
        for i, child in enumerate(msg.nested_type):
            yield from nested(index, file, child, full, (*path, _NESTED, i))

    for index, file in enumerate(fds.file):
        for i, msg in enumerate(file.message_type):
            yield from nested(index, file, msg, file.package, (_MESSAGE_TYPE, i))


def _pool(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for file in files:
        pool.Add(file)
    return pool


def _compile_failure(
    validator: protovalidate.Validator, pool: descriptor_pool.DescriptorPool, name: str
) -> str | None:
    """protovalidate's compilation error for ``name``'s rules, on one line, or None when they compile."""
    empty = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))()
    try:
        validator.collect_violations(empty)
    except protovalidate.CompilationError as exc:
        # Syntax errors come with the expression and a caret on lines of their own.
        return "; ".join(line.strip() for line in str(exc).splitlines() if not line.lstrip().startswith("|"))
    except protovalidate.EvaluationError:
        # The rules compiled; whether they evaluate depends on the values, which is the run time's to report.
        return None
    return None


def _locate(
    fds: descriptor_pb2.FileDescriptorSet, where: _Message, name: str, reason: str
) -> list[RuleError]:
    """Each rule of the message that fails to compile on its own, where it is written.

    protovalidate stops at a message's first broken rule; trying each holder of
    rules (the message, each field) and each of its rules alone reports them all.
    """
    found: list[RuleError] = []
    locations = [(tuple(loc.path), tuple(loc.span)) for loc in where.file.source_code_info.location]

    def error(path: tuple[int, ...], subject: str, what: str, why: str) -> RuleError:
        # The rule itself, else the message: protoc records every option's span.
        fallback = next((span for p, span in locations if p == where.path), (0, 0))
        span = next((span for p, span in locations if p[: len(path)] == path), fallback)
        return RuleError(
            where.file.name, span[0] + 1, span[1] + 1, f"{subject}: {what} does not compile: {why}"
        )

    for k in [None, *range(len(where.proto.field))]:
        options = where.proto.options if k is None else where.proto.field[k].options
        payload = _payload(options)
        if payload is None or _probe(fds, where, name, k, payload) is None:
            continue
        if k is None:
            at: tuple[int, ...] = (*where.path, _MESSAGE_OPTIONS, BUF_VALIDATE)
            subject, rules_type = f"message {name}", "buf.validate.MessageRules"
        else:
            at = (*where.path, _FIELD, k, _FIELD_OPTIONS, BUF_VALIDATE)
            subject = f"message {name} field {where.proto.field[k].name}"
            rules_type = "buf.validate.FieldRules"
        rules = message_factory.GetMessageClass(_pool(fds.file).FindMessageTypeByName(rules_type))
        failing = [
            error((*at, *suffix), subject, f"rule id {rule_id!r}", why)
            for rule_id, alone, suffix in _each_rule(rules.FromString(payload))
            if (why := _probe(fds, where, name, k, alone.SerializeToString())) is not None
        ]
        # Rules that compile alone but not together are reported as the holder's.
        found.extend(failing or [error(at, subject, "its rules", reason)])
    return found or [error(where.path, f"message {name}", "its rules", reason)]


def _each_rule(rules: Any) -> Iterator[tuple[str, Any, tuple[int, ...]]]:
    """Each rule of ``rules`` alone: a CEL rule by its id, a standard one by its name
    (``string.pattern``), with its path below the rules in source info."""
    for field, value in rules.ListFields():
        if field.name == "cel":
            for i, rule in enumerate(value):
                alone = type(rules)()
                alone.cel.add().CopyFrom(rule)
                yield rule.id, alone, (field.number, i)
        elif field.message_type is not None and not field.is_repeated:
            for sub, _ in value.ListFields():
                part = type(value)()
                part.CopyFrom(value)
                for other, _ in part.ListFields():
                    if other.name != sub.name:
                        part.ClearField(other.name)
                alone = type(rules)()
                getattr(alone, field.name).CopyFrom(part)
                yield f"{field.name}.{sub.name}", alone, (field.number, sub.number)


def _probe(
    fds: descriptor_pb2.FileDescriptorSet, where: _Message, name: str, k: int | None, payload: bytes
) -> str | None:
    """``name``'s compilation error with ``payload`` its only rules: its own (``k`` None) or field ``k``'s."""
    file = descriptor_pb2.FileDescriptorProto()
    file.CopyFrom(where.file)
    msg = file.message_type[where.path[1]]
    for i in where.path[3::2]:
        msg = msg.nested_type[i]
    holders: list[descriptor_pb2.MessageOptions | descriptor_pb2.FieldOptions] = [
        msg.options,
        *(f.options for f in msg.field),
    ]
    for options in holders:
        stripped = without(options.SerializeToString(), BUF_VALIDATE)
        options.ParseFromString(stripped)
    kept = msg.options if k is None else msg.field[k].options
    kept.ParseFromString(
        without(kept.SerializeToString(), BUF_VALIDATE) + length_delimited(BUF_VALIDATE, payload)
    )
    # Descriptors are cached by full name: a fresh pool and validator see only this probe.
    pool = _pool([*fds.file[: where.index], file])
    return _compile_failure(protovalidate.Validator(), pool, name)
