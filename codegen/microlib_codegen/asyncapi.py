"""AsyncAPI 2.x/3.0/3.1 document -> models, definition, consumer interface and publisher.

For ``contracts/streetlights.yaml`` the generated package gets a folder
``streetlights/``::

    streetlights/__init__.py      DEFINITION, StreetlightsConsumer, StreetlightsPublisher, models
    streetlights/models.py        pydantic models of every payload and headers schema
    streetlights/application.py   the MessageDefinitions, the interface, the publisher, DEFINITION
    streetlights/asyncapi.json    the document as written, other files' $refs bundled in

and the user's stub ``streetlights_handlers.py`` (class ``StreetlightsHandlers``)
is written once. The document is validated against the official AsyncAPI
JSON Schema first; the same document always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from microlib_codegen._asyncapi_ir import ApplicationSpec, MessageSpec, OperationSpec, ParamSpec
from microlib_codegen._asyncapi_messages import schema_kind
from microlib_codegen._asyncapi_read import read
from microlib_codegen._asyncapi_schema import VERSIONS, checked_as, find_schema, problems
from microlib_codegen._bundle import Bundled, BundleError, bundle, relative_to_cwd
from microlib_codegen._converters import ident
from microlib_codegen._openapi_ops import pascal, snake
from microlib_codegen._pydantic_models import class_names, generated_header, note_lines, schema_models
from microlib_codegen._pyfmt import ruff_format
from microlib_codegen._schema_keywords import misspelt_in_schemas
from microlib_codegen.errors import CodegenError
from microlib_codegen.model import TypeRef
from microlib_codegen.render import TypeNames, template

__all__ = ["Application", "AsyncAPIError", "Handler", "load", "render", "render_stub", "stub_names"]

# Message keys whose values are schemas: refs under them are hoisted as models.
_SCHEMA_KEYS = frozenset({"payload", "headers"})


class AsyncAPIError(CodegenError, ValueError):
    """The document is invalid or cannot be turned into code."""


@dataclass(frozen=True)
class Handler:
    """One handler of the consumer interface, as source.

    Args:
        python_name: The method name.
        operation: The receive operation's name.
        payload: The payload annotation (``models.A | models.B``).
        returns: The return annotation (``None``, or the reply's payload).
        text: The whole ``async def ...:`` line.
    """

    python_name: str
    operation: str
    payload: str
    returns: str
    text: str


@dataclass(frozen=True)
class Application:
    """One AsyncAPI document, read and validated.

    Args:
        document: Its entry file.
        package: The sub-package it generates into (``streetlights``).
        bundled: The bundled document and where each part was written.
        spec: Its operations and schemas.
        proto: The proto messages generated in the same run, by full name.
    """

    document: Path
    package: str
    bundled: Bundled
    spec: ApplicationSpec
    proto: Mapping[str, TypeRef]

    @property
    def consumer(self) -> str:
        """The consumer interface's class name (``StreetlightsConsumer``)."""
        return f"{pascal(self.package)}Consumer"

    @property
    def publisher(self) -> str:
        """The publisher's class name (``StreetlightsPublisher``)."""
        return f"{pascal(self.package)}Publisher"

    @property
    def stub_class(self) -> str:
        """The user's implementation's class name (``StreetlightsHandlers``)."""
        return f"{pascal(self.package)}Handlers"

    @property
    def stub_module(self) -> str:
        """The user's stub file name (``streetlights_handlers.py``)."""
        return f"{self.package}_handlers.py"

    @property
    def receives(self) -> list[OperationSpec]:
        """The operations the application receives on."""
        return [op for op in self.spec.operations if op.action == "receive"]

    @property
    def sends(self) -> list[OperationSpec]:
        """The operations the application sends on."""
        return [op for op in self.spec.operations if op.action == "send"]

    def handlers(self, names: TypeNames) -> list[Handler]:
        """The consumer interface's methods, proto types named by ``names``."""
        out = []
        for op in self.receives:
            payload = _union(_payload(m, names) for m in op.messages)
            returns = _union(_payload(m, names) for m in op.reply.messages) if op.reply else "None"
            text = f"async def {op.python_name}(self, payload: {payload}, ctx: MessageContext) -> {returns}:"
            out.append(Handler(op.python_name, op.name, payload, returns, text))
        return out


def load(
    document: Path, *, package: str, proto: Mapping[str, TypeRef], starts: Sequence[Path]
) -> Application:
    """Bundle, validate and read the AsyncAPI document at ``document``.

    Args:
        document: The entry file (YAML or JSON; refs to other files are followed).
        package: The sub-package it generates into.
        proto: The proto messages generated in the same run, by full name.
        starts: Folders to look for ``node_modules/@asyncapi/specs`` from
            (besides the document's own).

    Raises:
        AsyncAPIError: The document cannot be read, declares a version other
            than 2.0.0 to 2.6.0, 3.0.0 or 3.1.0, or breaks its JSON Schema; one
            line per problem, ``file:line: json.path: message``.
    """
    try:
        bundled = bundle(document, schema_keys=_SCHEMA_KEYS, foreign=lambda f: schema_kind(f) == "avro")
    except BundleError as exc:
        raise AsyncAPIError(str(exc)) from exc
    version = bundled.document.get("asyncapi")
    if version not in VERSIONS:
        raise AsyncAPIError(
            f"{bundled.at(('asyncapi',))}: asyncapi: version {version!r} is not supported "
            "(microlib generates from 2.0.0 to 2.6.0, 3.0.0 and 3.1.0)"
        )
    checked = checked_as(str(version))
    found = problems(bundled, find_schema(checked, [document.parent, *starts]), checked)
    if found:
        how = "" if checked == version else f", checked as {checked}"
        shown = relative_to_cwd(document.resolve())  # as each problem names its file
        raise AsyncAPIError(
            f"{shown}: not a valid AsyncAPI {version} document ({len(found)} problem(s){how}):\n"
            + "\n".join(found)
        )
    spec = read(bundled, {name: ref.python_name for name, ref in proto.items()})
    return Application(document, package, bundled, spec, proto)


def _union(types: Iterable[str]) -> str:
    unique: list[str] = []
    for t in types:
        if t not in unique:
            unique.append(t)
    return " | ".join(unique)


def _payload(message: MessageSpec, names: TypeNames) -> str:
    return names.names[message.payload] if message.proto else f"models.{message.payload}"


def _parameter_value(param: ParamSpec) -> str:
    """The expression a publisher method passes for ``param``: its argument, as text."""
    if param.annotation != "int":
        return param.arg
    if param.location is None:
        return f"str({param.arg})"
    return f"None if {param.arg} is None else str({param.arg})"


def _quote(value: str | None) -> str:
    if value is None:
        return "None"
    text = repr(value)
    return f'"{value}"' if text == f"'{value}'" and '"' not in value else text


class _Module:
    """The names one rendering of ``application.py`` uses."""

    def __init__(self, app: Application) -> None:
        self.app = app
        ops = [*app.spec.operations, *(op.reply for op in app.spec.operations if op.reply)]
        self.messages: dict[int, str] = {}
        self.message_list: list[MessageSpec] = []
        taken: set[str] = set()
        for op in ops:
            for message in op.messages:
                if id(message) not in self.messages:
                    var, n = f"_{snake(message.name).upper()}", 2
                    while var in taken:
                        var, n = f"_{snake(message.name).upper()}_{n}", n + 1
                    taken.add(var)
                    self.messages[id(message)] = var
                    self.message_list.append(message)
        refs = [app.proto[m.payload] for m in self.message_list if m.proto]
        reserved = ("models", "DEFINITION", "DOCUMENT_PATH", app.consumer, app.publisher)
        self.names = TypeNames(refs, lambda pkg: f"..{pkg}", reserved)

    def message(self, m: MessageSpec) -> dict[str, str | None]:
        payload = _payload(m, self.names)
        avro = None
        if m.proto:
            codec = ident(m.payload)
            decode, encode = f"_codec.decode_{codec}", f"_codec.encode_{codec}"
        elif m.avro is not None:
            var = f"{self.messages[id(m)]}_AVRO"
            decode, encode = f"{var}.decode", f"{var}.encode"
            avro = f"{var} = AvroCodec({payload}, {m.avro!r}, {_quote(m.name)})"
        else:
            decode, encode = f"json_decoder({payload}, {_quote(m.name)})", f"json_encoder({payload})"
        return {
            "var": self.messages[id(m)],
            "name": m.name,
            "payload": payload,
            "decode": decode,
            "encode": encode,
            "content_type": m.content_type,
            "headers": f"models.{m.headers}" if m.headers else "None",
            "correlation_id": m.correlation_id,
            "avro": avro,
        }

    def definition(self, op: OperationSpec) -> str:
        messages = "".join(f"{self.messages[id(m)]}, " for m in op.messages)
        parts = [
            f"name={_quote(op.name)}",
            f"python_name={_quote(op.python_name)}",
            f"action=Action.{op.action.upper()}",
            f"channel={_quote(op.channel)}",
            f"address={_quote(op.address)}",
            f"messages=({messages.rstrip(' ')})",
        ]
        if op.key:
            parts.append(f"key={_quote(op.key)}")
        schemas = {p.name: p.schema for p in op.params if p.schema}
        if schemas:
            parts.append(f"parameter_schemas={schemas!r}")
        locations = {p.name: p.location for p in op.params if p.location}
        if locations:
            parts.append(f"parameter_locations={locations!r}")
        if op.bindings:
            parts.append(f"bindings={op.bindings!r}")
        if op.reply:
            parts.append(f"reply={self.definition(op.reply)}")
        if op.retry is not None:
            parts.append("retry=RetryPolicy(" + ", ".join(f"{k}={v!r}" for k, v in op.retry.items()) + ")")
        if op.extensions:
            parts.append(f"extensions={op.extensions!r}")
        return "OperationDefinition(" + ", ".join(parts) + ")"

    def send(self, op: OperationSpec) -> dict[str, object]:
        headers = [f"models.{m.headers}" for m in op.messages if m.headers]
        required = len(headers) == len(op.messages) and all(m.headers_required for m in op.messages)
        typed = _union(headers)
        params = ", ".join(f"{_quote(p.name)}: {_parameter_value(p)}" for p in op.params)
        return {
            "name": op.name,
            "python_name": op.python_name,
            "payload": _union([_payload(m, self.names) for m in op.messages]),
            # A parameter the message carries may be left out: the publisher reads it there.
            "params": [
                f"{p.arg}: {p.annotation}" if p.location is None else f"{p.arg}: {p.annotation} | None = None"
                for p in op.params
            ],
            "parameters": f"{{{params}}}" if params else "None",
            "headers_arg": (f"headers: {typed}" if required else f"headers: {typed} | None = None")
            if typed
            else "",
            "headers_value": "header_values(headers)" if typed else "None",
            "reply": _union([_payload(m, self.names) for m in op.reply.messages]) if op.reply else "",
            "doc": op.summary or f"Send on `{op.address}` (operation `{op.name}`).",
        }

    def imports(self, texts: str) -> str:
        typing_names = {"ClassVar", "Protocol"} if self.app.receives else set()
        if self.app.receives or any(op.reply for op in self.app.sends):
            typing_names.add("cast")
        if "Literal[" in texts:
            typing_names.add("Literal")
        messaging = {"Action", "ApplicationDefinition", "MessageDefinition", "OperationDefinition"}
        if self.app.receives:
            messaging.add("MessageContext")
        if self.app.sends:
            messaging.update({"Publisher", "register_document"})
        if any(op.retry is not None for op in self.app.spec.operations):
            messaging.add("RetryPolicy")
        if any(not m.proto and m.avro is None for m in self.message_list):
            messaging.update({"json_encoder", "json_decoder"})
        if any(m.avro is not None for m in self.message_list):
            messaging.add("AvroCodec")
        if "header_values(" in texts:
            messaging.add("header_values")
        lines = ["import json", "from pathlib import Path"]
        if typing_names:
            lines.append(f"from typing import {', '.join(sorted(typing_names))}")
        lines.append("")
        if self.app.receives:
            lines.append("from microlib.core.errors import Unimplemented")
        lines.append(f"from microlib.messaging import {', '.join(sorted(messaging, key=_isort))}")
        lines += ["", "from . import models"]
        if any(m.proto for m in self.message_list):
            lines.append("from .. import _codec")
        return "\n".join([*lines, *self.names.imports])


def _isort(name: str) -> tuple[int, str]:
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def render(app: Application, *, source_name: str) -> dict[str, str]:
    """The files of ``app``'s sub-package, by name.

    Raises:
        AsyncAPIError: A payload or header schema yields no model.
    """
    spec = app.spec
    served = json.dumps(app.bundled.document, indent=2, ensure_ascii=False) + "\n"
    header = generated_header(source_name, hashlib.sha256(served.encode()).hexdigest())
    models, notes = schema_models(spec.schemas, title=spec.title, version=spec.version, source=source_name)
    spec.warnings += note_lines(notes, source_name, app.bundled, spec.origins)
    spec.warnings += misspelt_in_schemas(spec.schemas, spec.origins, app.bundled)
    models_py = f"{header}\n{models}"
    known = class_names(models_py)
    module = _Module(app)
    wanted = {m.payload for m in module.message_list if not m.proto}
    wanted |= {m.headers for m in module.message_list if m.headers}
    missing = sorted(wanted - known)
    if missing:
        raise AsyncAPIError(f"{source_name}: no model generated for {', '.join(missing)}")
    receives = [
        {"name": h.operation, "handler_def": h.text, "doc": _doc(op)}
        for h, op in zip(app.handlers(module.names), app.receives, strict=True)
    ]
    sends = [module.send(op) for op in app.sends]
    operations = [{"name": op.name, "definition": module.definition(op)} for op in spec.operations]
    texts = " ".join([*(r["handler_def"] for r in receives), *(str(s) for s in sends)])
    title = spec.title or app.package
    exported = ["DEFINITION", "DOCUMENT_PATH"]
    exported += [name for name, used in ((app.consumer, app.receives), (app.publisher, app.sends)) if used]
    application = template(
        "asyncapi_application.py.j2",
        header=header,
        module_doc=(
            f"{title} {spec.version} (AsyncAPI {spec.asyncapi}): the runtime's definition, the consumer "
            "interface and the typed publisher.\n\n"
            f"Implement ``{app.consumer}`` and ``service.include(...)`` it to receive; send through "
            f"``{app.publisher}(publisher)``."
        ),
        imports=module.imports(texts),
        exported=exported,
        messages=[module.message(m) for m in module.message_list],
        consumer=app.consumer if app.receives else "",
        consumer_doc=f"Receives the messages of {title}: one handler per receive operation.",
        receives=receives,
        publisher=app.publisher if app.sends else "",
        publisher_doc=f"Typed sends of {title}, through the service's ``microlib.messaging.Publisher``.",
        sends=sends,
        title=spec.title,
        version=spec.version,
        asyncapi=spec.asyncapi,
        operations=operations,
    )
    public = [name for name in exported if name != "DOCUMENT_PATH"]
    init = (
        f'{header}\n"""Generated code of {source_name}: the definition, the interfaces and the models."""\n\n'
        "from __future__ import annotations\n\nfrom . import models\n"
        f"from .application import {', '.join(public)}\n\n"
        f"__all__ = [{', '.join(_quote(n) for n in sorted([*public, 'models'], key=_isort))}]\n"
    )
    files = ruff_format({"__init__.py": init, "application.py": application})
    files["models.py"] = models_py if models_py.endswith("\n") else models_py + "\n"
    files["asyncapi.json"] = served
    return dict(sorted(files.items()))


def _doc(op: OperationSpec) -> str:
    return op.summary or f"Receive on `{op.address}` (operation `{op.name}`)."


def render_stub(app: Application, *, import_name: str) -> str:
    """The user's consumer module (written once): every handler raises ``Unimplemented``.

    Args:
        app: The document.
        import_name: The generated package's import name (``bookshop.gen``).
    """
    names = stub_names(app, import_name)
    handlers = app.handlers(names)
    uses_models = any("models." in h.text for h in handlers)
    generated = f"{app.consumer}, models" if uses_models else app.consumer
    imports = [f"from {import_name}.{app.package} import {generated}", *names.imports]
    text = template(
        "asyncapi_stub.py.j2",
        module_doc=(
            f"{app.stub_class}: the handlers of {app.spec.title or app.package}.\n\n"
            "Written once by `microlib codegen`; this file is yours, it is never overwritten."
        ),
        imports=imports,
        class_name=app.stub_class,
        protocol=app.consumer,
        title=app.spec.title or app.package,
        receives=[{"name": h.operation, "handler_def": h.text} for h in handlers],
    )
    return ruff_format({"stub.py": text})["stub.py"]


def stub_names(app: Application, import_name: str) -> TypeNames:
    """How the user's stub names the proto payload types it uses."""
    refs = [app.proto[m.payload] for op in app.receives for m in op.messages if m.proto]
    refs += [app.proto[m.payload] for op in app.receives if op.reply for m in op.reply.messages if m.proto]
    return TypeNames(refs, lambda pkg: f"{import_name}.{pkg}", ("models", app.consumer, app.stub_class))
