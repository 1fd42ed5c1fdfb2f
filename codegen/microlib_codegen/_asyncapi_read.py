"""Read the operations of a bundled AsyncAPI 2.x, 3.0 or 3.1 document into the IR.

Every version arrives as the application's *send* and *receive*
operations: 3.x ``action`` as written; in 2.x a channel's ``subscribe`` is
what the application sends and its ``publish`` what it receives. Operation
traits are applied as message traits are (:mod:`._asyncapi_messages`);
channel and operation bindings are merged per protocol, the channel's
first; a 3.x ``reply`` becomes the operation's reply.

Two receive operations of one address carrying different messages are
reported: each gets every message, and dead-letters the other's. A server
whose protocol no microlib broker speaks (``ws``, ``mqtt``,
``mercure``...) is reported: its operations are still generated, and run on
the broker the configuration names. An operation none of whose messages can
be generated is skipped with a warning; a mistake in microlib's own extensions (``x-microlib-retry``,
``x-microlib-key``) or two operations of one name is an error naming file
and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from microlib_codegen._asyncapi_ir import ApplicationSpec, OperationSpec, ParamSpec, Where
from microlib_codegen._asyncapi_messages import DocumentReader
from microlib_codegen._bundle import Bundled
from microlib_codegen._openapi_ops import pascal, snake
from microlib_codegen.errors import CodegenError

__all__ = ["read"]

_PARAMETER = re.compile(r"\{([^{}]+)\}")
_KEY = re.compile(r"^\$message\.(payload|header)#/.*$")
_RETRY = {
    "maxAttempts": ("max_attempts", int, 1, None),
    "initialBackoff": ("initial_backoff", float, 0, None),
    "maxBackoff": ("max_backoff", float, 0, None),
    "multiplier": ("multiplier", float, 1, None),
    "jitter": ("jitter", float, 0, 1),
}
_OWN = ("x-microlib-retry", "x-microlib-key")
# The protocols of the brokers microlib.messaging runs on (RabbitMQ, Kafka, Redis).
_SERVED = ("amqp", "amqps", "kafka", "kafka-secure", "redis")
# The schema keywords the runtime checks a parameter's value against (microlib.messaging.parameters).
_PARAMETER_KEYWORDS = ("type", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum")

# Keyword arguments of the generated publisher methods besides parameters.
_TAKEN_ARGS = frozenset({"self", "payload", "key", "headers", "message_id", "correlation_id", "timeout"})


def read(bundled: Bundled, proto_messages: Mapping[str, str]) -> ApplicationSpec:
    """Read the operations of a valid, bundled AsyncAPI document.

    Args:
        bundled: The document (already validated against its schema).
        proto_messages: Full names of the proto messages generated in the
            same run (a protobuf payload must name one of them).

    Raises:
        CodegenError: A mistake in a microlib extension, or two operations
            with one name, each at its file and line.
    """
    return _Reader(bundled, proto_messages).run()


class _Reader(DocumentReader):
    def __init__(self, bundled: Bundled, proto_messages: Mapping[str, str]) -> None:
        super().__init__(bundled, proto_messages)
        self.names: dict[str, Where] = {}
        self.python_names: set[str] = set()

    def run(self) -> ApplicationSpec:
        self._servers()
        operations = self._v3_operations() if self.v3 else self._v2_operations()
        if self.errors:
            raise CodegenError("\n".join(self.errors))
        info = self.doc.get("info") or {}
        return ApplicationSpec(
            title=str(info.get("title", "")),
            version=str(info.get("version", "")),
            asyncapi=str(self.doc["asyncapi"]),
            operations=operations,
            schemas=self.schemas,
            warnings=self.warnings,
            origins=self.origins,
        )

    def _servers(self) -> None:
        for name, raw in (self.doc.get("servers") or {}).items():
            server, path = self._deref(raw, ("servers", name))
            protocol = server.get("protocol") if isinstance(server, dict) else None
            if isinstance(protocol, str) and protocol.lower() not in _SERVED:
                self._warn(
                    (*path, "protocol"),
                    f"no microlib broker speaks {protocol} (they speak {', '.join(_SERVED)}): "
                    "the operations are generated and run on the broker messaging.url names",
                )

    def _v2_operations(self) -> list[OperationSpec]:
        out = []
        for channel_name, raw in (self.doc.get("channels") or {}).items():
            channel, channel_path = self._deref(raw, ("channels", channel_name))
            for verb in [k for k in channel if k in ("publish", "subscribe")]:
                path = (*channel_path, verb)
                op = self._with_traits(self._deref(channel[verb], path)[0], path)
                name = op.get("operationId")
                if not isinstance(name, str):
                    name = f"{verb}{pascal(channel_name)}"
                    self._warn(path, f"no operationId: named {name!r}")
                message, message_path = self._deref(op.get("message"), (*path, "message"))
                if isinstance(message, dict) and isinstance(message.get("oneOf"), list):
                    found = [
                        self._deref(m, (*message_path, "oneOf", i)) for i, m in enumerate(message["oneOf"])
                    ]
                else:
                    found = [(message, message_path)] if isinstance(message, dict) else []
                spec = self._operation(
                    name,
                    "send" if verb == "subscribe" else "receive",
                    op,
                    path,
                    channel_name,
                    channel_name,
                    channel,
                    found,
                )
                if spec is not None:
                    out.append(spec)
        return out

    def _v3_operations(self) -> list[OperationSpec]:
        out = []
        for name, raw in (self.doc.get("operations") or {}).items():
            path: Where = ("operations", name)
            op = self._with_traits(self._deref(raw, path)[0], path)
            channel_ref = str((op.get("channel") or {}).get("$ref", ""))
            channel, channel_path = self._pointer(channel_ref)
            channel, channel_path = self._deref(channel, channel_path)
            channel_name = str(channel_path[-1])
            address = channel.get("address")
            found = self._v3_messages(op, path, channel, channel_path)
            spec = self._operation(
                name,
                str(op["action"]),
                op,
                path,
                channel_name,
                address if isinstance(address, str) else channel_name,
                channel,
                found,
            )
            if spec is not None and isinstance(op.get("reply"), dict):
                spec.reply = self._reply(spec, op["reply"], (*path, "reply"))
            if spec is not None:
                out.append(spec)
        return out

    def _v3_messages(
        self, op: dict[str, Any], path: Where, channel: dict[str, Any], channel_path: Where
    ) -> list[tuple[Any, Where]]:
        if isinstance(op.get("messages"), list):
            return [self._pointer(str(m.get("$ref", ""))) for m in op["messages"] if isinstance(m, dict)]
        return [
            ((channel.get("messages") or {})[k], (*channel_path, "messages", k))
            for k in channel.get("messages") or {}
        ]

    def _reply(self, request: OperationSpec, raw: dict[str, Any], path: Where) -> OperationSpec | None:
        reply, path = self._deref(raw, path)
        channel: dict[str, Any] = {}
        channel_name = ""
        if isinstance(reply.get("channel"), dict):
            channel, channel_path = self._pointer(str(reply["channel"].get("$ref", "")))
            channel, channel_path = self._deref(channel, channel_path)
            channel_name = str(channel_path[-1])
            found = self._v3_messages(reply, path, channel, channel_path)
        else:
            found = [self._pointer(str(m.get("$ref", ""))) for m in reply.get("messages") or []]
        address = self._deref(reply.get("address"), (*path, "address"))[0]
        if isinstance(address, dict) and isinstance(address.get("location"), str):
            # Dynamic: the requester names it in the request (AMQP's reply-to).
            where = address["location"]
        else:
            written = channel.get("address")
            where = written if isinstance(written, str) else channel_name
        messages = self._messages(found, f"{request.name}Reply")
        if not messages:
            self._warn(path, "the reply carries no message microlib can generate: reply skipped")
            return None
        return OperationSpec(
            name=f"{request.name}Reply",
            python_name=f"{request.python_name}_reply",
            action="receive" if request.action == "send" else "send",
            channel=channel_name,
            address=where,
            messages=messages,
            params=self._params(where, channel),
            bindings=self._bindings(channel.get("bindings"), None),
        )

    def _operation(
        self,
        name: str,
        action: str,
        op: dict[str, Any],
        path: Where,
        channel_name: str,
        address: str,
        channel: dict[str, Any],
        found: list[tuple[Any, Where]],
    ) -> OperationSpec | None:
        if name in self.names:
            self._error(path, f"operation name {name!r} is also used at {self.bundled.at(self.names[name])}")
            return None
        self.names[name] = path
        messages = self._messages(found, name)
        if not messages:
            self._warn(path, "no message microlib can generate: operation skipped")
            return None
        python_name, n = snake(name), 2
        while python_name in self.python_names:
            python_name, n = f"{snake(name)}_{n}", n + 1
        self.python_names.add(python_name)
        return OperationSpec(
            name=name,
            python_name=python_name,
            action=action,
            channel=channel_name,
            address=address,
            messages=messages,
            params=self._params(address, channel),
            key=self._key(op, path, found),
            bindings=self._bindings(channel.get("bindings"), op.get("bindings")),
            retry=self._retry(op.get("x-microlib-retry"), (*path, "x-microlib-retry")),
            extensions={k: v for k, v in op.items() if k.startswith("x-") and k not in _OWN},
            summary=str(op.get("summary") or "").strip().split("\n")[0],
        )

    def _params(self, address: str, channel: dict[str, Any]) -> list[ParamSpec]:
        declared = channel.get("parameters") or {}
        params = []
        for name in _PARAMETER.findall(address):
            param = self._deref(declared.get(name), ())[0]
            arg = snake(name)
            params.append(
                ParamSpec(
                    name,
                    f"{arg}_param" if arg in _TAKEN_ARGS else arg,
                    self._annotation(param),
                    self._constraints(param),
                    self._location(param),
                )
            )
        return params

    def _location(self, param: Any) -> str | None:
        """Where a message carries the parameter's value (``$message.payload#/region``); the
        document's schema has checked it is a runtime expression into the message."""
        location = param.get("location") if isinstance(param, dict) else None
        return location if isinstance(location, str) else None

    def _schema(self, param: Any) -> dict[str, Any] | None:
        """A parameter's schema: in 3.x the parameter itself (``enum``...), in 2.x its ``schema``."""
        if not isinstance(param, dict):
            return None
        schema = param if self.v3 else self._deref(param.get("schema"), ())[0]
        return schema if isinstance(schema, dict) else None

    def _constraints(self, param: Any) -> dict[str, Any] | None:
        schema = self._schema(param) or {}
        kept = {k: schema[k] for k in _PARAMETER_KEYWORDS if k in schema}
        if kept.get("type") not in ("integer", "number"):
            kept.pop("type", None)  # every value is text: only a number type constrains it
        return kept or None

    def _annotation(self, param: Any) -> str:
        schema = self._schema(param)
        if schema is None:
            return "str"
        enum = schema.get("enum")
        if isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
            return "Literal[" + ", ".join(_quote(v) for v in enum) + "]"
        return "int" if schema.get("type") == "integer" else "str"

    def _bindings(self, channel: Any, op: Any) -> dict[str, dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {}
        for raw in (channel, op):
            bindings = self._deref(raw, ())[0]
            for protocol, value in (bindings or {}).items():
                value = self._deref(value, ())[0]
                if not protocol.startswith("x-") and isinstance(value, dict):
                    merged.setdefault(protocol, {}).update(value)
        return merged

    def _key(self, op: dict[str, Any], path: Where, found: list[tuple[Any, Where]]) -> str | None:
        if "x-microlib-key" in op:
            return self._key_value(op["x-microlib-key"], (*path, "x-microlib-key"))
        keys = set()
        for raw, via in found:
            message, where = self._deref(raw, via)
            message = self._with_traits(message, where)
            if "x-microlib-key" in message:
                keys.add(self._key_value(message["x-microlib-key"], (*where, "x-microlib-key")))
        if len(keys) > 1:
            self._error(
                (*path,),
                f"its messages name different keys ({', '.join(sorted(map(str, keys)))}): "
                "set x-microlib-key on the operation",
            )
        return keys.pop() if len(keys) == 1 else None

    def _key_value(self, value: Any, where: Where) -> str | None:
        if isinstance(value, str) and _KEY.match(value):
            return value
        self._error(
            where, f"{value!r} is not a runtime expression ($message.payload#/path or $message.header#/name)"
        )
        return None

    def _retry(self, raw: Any, where: Where) -> dict[str, float | int] | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self._error(
                where, "expected a mapping of maxAttempts, initialBackoff, maxBackoff, multiplier, jitter"
            )
            return None
        out: dict[str, float | int] = {}
        for key, value in raw.items():
            if key not in _RETRY:
                self._error((*where, key), f"unknown key (known: {', '.join(_RETRY)})")
                continue
            attr, kind, low, high = _RETRY[key]
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if (
                not number
                or (kind is int and not isinstance(value, int))
                or value < low
                or (high is not None and value > high)
            ):
                bound = f"{low} to {high}" if high is not None else f"at least {low}"
                self._error(
                    (*where, key),
                    f"expected {'an integer' if kind is int else 'a number'} {bound}, got {value!r}",
                )
                continue
            out[attr] = kind(value)
        return out


def _quote(value: str) -> str:
    text = repr(value)
    return f'"{value}"' if text == f"'{value}'" and '"' not in value else text
