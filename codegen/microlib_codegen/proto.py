"""A protoc ``FileDescriptorSet`` → the :mod:`~microlib_codegen.model` IR.

Python names follow betterproto2's own rules (its ``casing`` and ``naming``
helpers), because users see betterproto2's classes and the generated
converters must address exactly those attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from betterproto2_compiler.compile.naming import (
    pythonize_class_name,
    pythonize_field_name,
    pythonize_method_name,
)
from google.api import annotations_pb2, field_behavior_pb2
from google.protobuf import descriptor_pb2

from microlib.security.auth_option import effective_auth
from microlib_codegen._buf_validate import BUF_VALIDATE, FieldRulesReader, extension_payload, oneof_required
from microlib_codegen._http_rules import binding_problem
from microlib_codegen.errors import CodegenError
from microlib_codegen.model import (
    Contract,
    ContractWarning,
    EnumType,
    Field,
    FieldKind,
    HttpBinding,
    MessageType,
    Method,
    Service,
    SourceFile,
    TypeRef,
    WellKnown,
)

__all__ = ["read_descriptor_set"]

_FDP = descriptor_pb2.FieldDescriptorProto
_WELL_KNOWN = {
    "google.protobuf.Timestamp": WellKnown.TIMESTAMP,
    "google.protobuf.Duration": WellKnown.DURATION,
    **{
        f"google.protobuf.{name}Value": WellKnown.WRAPPER
        for name in ("Bool", "Int32", "Int64", "UInt32", "UInt64", "Float", "Double", "String", "Bytes")
    },
}
# SourceCodeInfo path components (descriptor.proto field numbers).
_MESSAGE_TYPE, _SERVICE, _METHOD, _OPTIONS = 4, 6, 2, 4


@dataclass(frozen=True, slots=True)
class _Declared:
    file: descriptor_pb2.FileDescriptorProto
    proto: descriptor_pb2.DescriptorProto | descriptor_pb2.EnumDescriptorProto
    ref: TypeRef
    path: tuple[int, ...]
    comments: dict[tuple[int, ...], str]

    @property
    def doc(self) -> str:
        return self.comments.get(self.path, "")


def read_descriptor_set(data: bytes, generate: list[str]) -> Contract:
    """Build the IR for ``generate`` from a descriptor set holding its imports.

    Args:
        data: A serialized ``FileDescriptorSet`` (``--include_imports``, with
            source info for comments).
        generate: The file names asked for.

    Returns:
        The contract: files in dependency order, the messages and enums the
        services and generated files reach, and the services.

    Raises:
        CodegenError: A file declares no package, names collide, or an
            HTTP rule binds a field its messages do not have.
    """
    fds = descriptor_pb2.FileDescriptorSet.FromString(data)
    wanted = set(generate)
    for file in fds.file:
        if file.name in wanted and not file.package:
            raise CodegenError(f"{file.name}: declare a `package` (generated code is organised by package)")
    declared = dict(_declarations(fds))
    roots: list[str] = []
    services: list[Service] = []
    indexes: list[int] = []
    lines: dict[str, dict[tuple[int, ...], int]] = {}
    for file in fds.file:
        if file.name not in wanted:
            continue
        roots.extend(name for name, d in declared.items() if d.file is file)
        comments = _comments(file)
        lines[file.name] = {tuple(loc.path): loc.span[0] + 1 for loc in file.source_code_info.location}
        for index, svc in enumerate(file.service):
            service = _service(file, index, svc, declared, comments)
            roots.extend(m.input.full_name for m in service.methods)
            roots.extend(m.output.full_name for m in service.methods)
            services.append(service)
            indexes.append(index)
    messages, enums = _reachable(roots, declared, FieldRulesReader(fds))
    _check_names(services, messages, enums)
    warnings: list[ContractWarning] = []
    services = [
        _servable(svc, index, messages, lines[svc.file], warnings)
        for svc, index in zip(services, indexes, strict=True)
    ]
    files = tuple(
        SourceFile(
            name=f.name,
            package=f.package,
            dependencies=tuple(f.dependency),
            descriptor=_without_source_info(f),
            generate=f.name in wanted,
        )
        for f in fds.file
    )
    return Contract(
        files=files, messages=messages, enums=enums, services=tuple(services), warnings=tuple(warnings)
    )


def _servable(
    service: Service,
    index: int,
    messages: dict[str, MessageType],
    lines: dict[tuple[int, ...], int],
    warnings: list[ContractWarning],
) -> Service:
    """``service`` without the HTTP bindings microlib cannot serve, each reported."""
    methods = []
    for m, method in enumerate(service.methods):
        kept = []
        for binding in method.http:
            problem = binding_problem(messages, method, binding)
            if problem is None:
                kept.append(binding)
                continue
            method_path = (_SERVICE, index, _METHOD, m)
            # protoc records where the option is written, not where each binding inside it is.
            rule = (*method_path, _OPTIONS, annotations_pb2.http.number)
            line = next((lines[p] for p in (rule, method_path) if p in lines), 1)
            warnings.append(
                ContractWarning(
                    service.file,
                    line,
                    f"{service.full_name}.{method.name}: google.api.http {binding.method} {binding.path}: "
                    f"{problem}: binding skipped",
                )
            )
        methods.append(replace(method, http=tuple(kept)))
    return replace(service, methods=tuple(methods))


def _declarations(fds: descriptor_pb2.FileDescriptorSet) -> Iterator[tuple[str, _Declared]]:
    def walk(
        file: descriptor_pb2.FileDescriptorProto,
        comments: dict[tuple[int, ...], str],
        scope: str,
        prefix: str,
        parent: tuple[int, ...],
    ) -> Iterator[tuple[str, _Declared]]:
        # SourceCodeInfo paths: file.message_type=4, file.enum_type=5,
        # message.nested_type=3, message.enum_type=4.
        owner = file if not parent else None
        messages, enums = (file.message_type, file.enum_type) if owner else _children(file, parent)
        enum_tag, message_tag = ((5,), (4,)) if owner else ((*parent, 4), (*parent, 3))
        for i, enum in enumerate(enums):
            name = f"{prefix}.{enum.name}" if prefix else enum.name
            ref = TypeRef(f"{scope}.{enum.name}".lstrip("."), file.package, _py(name), FieldKind.ENUM)
            yield ref.full_name, _Declared(file, enum, ref, (*enum_tag, i), comments)
        for i, msg in enumerate(messages):
            full = f"{scope}.{msg.name}".lstrip(".")
            # Map entries keep their own name; betterproto2 never renders them.
            name = msg.name if msg.options.map_entry else (f"{prefix}.{msg.name}" if prefix else msg.name)
            ref = TypeRef(full, file.package, _py(name), FieldKind.MESSAGE, _WELL_KNOWN.get(full))
            yield full, _Declared(file, msg, ref, (*message_tag, i), comments)
            yield from walk(file, comments, full, name, (*message_tag, i))

    for file in fds.file:
        yield from walk(file, _comments(file), file.package, "", ())


def _children(
    file: descriptor_pb2.FileDescriptorProto, path: tuple[int, ...]
) -> tuple[list[descriptor_pb2.DescriptorProto], list[descriptor_pb2.EnumDescriptorProto]]:
    msg = file.message_type[path[1]]
    for i in range(3, len(path), 2):
        msg = msg.nested_type[path[i]]
    return list(msg.nested_type), list(msg.enum_type)


def _py(prefixed: str) -> str:
    return pythonize_class_name(prefixed)


def _service(
    file: descriptor_pb2.FileDescriptorProto,
    index: int,
    svc: descriptor_pb2.ServiceDescriptorProto,
    declared: dict[str, _Declared],
    comments: dict[tuple[int, ...], str],
) -> Service:
    methods = tuple(
        Method(
            name=m.name,
            python_name=pythonize_method_name(m.name),
            input=declared[m.input_type.lstrip(".")].ref,
            output=declared[m.output_type.lstrip(".")].ref,
            client_streaming=m.client_streaming,
            server_streaming=m.server_streaming,
            doc=comments.get((_SERVICE, index, _METHOD, i), ""),
            http=_http(m.options),
            auth=effective_auth(m.options.SerializeToString(), svc.options.SerializeToString()),
            deprecated=m.options.deprecated or svc.options.deprecated,
        )
        for i, m in enumerate(svc.method)
    )
    return Service(
        name=svc.name,
        full_name=f"{file.package}.{svc.name}",
        package=file.package,
        file=file.name,
        methods=methods,
        doc=comments.get((_SERVICE, index), ""),
    )


def _http(options: descriptor_pb2.MethodOptions) -> tuple[HttpBinding, ...]:
    if not options.HasExtension(annotations_pb2.http):
        return ()
    rule = options.Extensions[annotations_pb2.http]
    return (_binding(rule), *(_binding(extra) for extra in rule.additional_bindings))


def _binding(rule: object) -> HttpBinding:
    pattern = rule.WhichOneof("pattern")  # type: ignore[attr-defined]
    if pattern == "custom":
        custom = rule.custom  # type: ignore[attr-defined]
        verb, path = custom.kind, custom.path
    else:
        verb, path = str(pattern).upper(), getattr(rule, str(pattern))
    return HttpBinding(verb, path, rule.body, rule.response_body)  # type: ignore[attr-defined]


def _comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    found: dict[tuple[int, ...], str] = {}
    for loc in file.source_code_info.location:
        text = loc.leading_comments or loc.trailing_comments
        if text.strip():
            lines = [line[1:] if line.startswith(" ") else line for line in text.strip("\n").split("\n")]
            found[tuple(loc.path)] = "\n".join(line.rstrip() for line in lines).strip()
    return found


def _field(
    msg: descriptor_pb2.DescriptorProto,
    f: descriptor_pb2.FieldDescriptorProto,
    declared: dict[str, _Declared],
) -> Field:
    repeated = f.label == _FDP.LABEL_REPEATED
    in_oneof = f.HasField("oneof_index") and not f.proto3_optional
    base = Field(
        name=f.name,
        python_name=pythonize_field_name(f.name),
        number=f.number,
        kind=FieldKind.SCALAR,
        oneof=msg.oneof_decl[f.oneof_index].name if in_oneof else None,
        required=field_behavior_pb2.REQUIRED in f.options.Extensions[field_behavior_pb2.field_behavior],
        output_only=field_behavior_pb2.OUTPUT_ONLY in f.options.Extensions[field_behavior_pb2.field_behavior],
        deprecated=f.options.deprecated,
    )
    if f.type in (_FDP.TYPE_MESSAGE, _FDP.TYPE_GROUP):
        target = declared[f.type_name.lstrip(".")]
        entry = target.proto
        if repeated and isinstance(entry, descriptor_pb2.DescriptorProto) and entry.options.map_entry:
            inner = _field(entry, entry.field[1], declared)
            key = _scalar(entry.field[0])
            return replace(base, kind=inner.kind, scalar=inner.scalar, type=inner.type, map_key=key)
        return replace(
            base, kind=FieldKind.MESSAGE, type=target.ref, repeated=repeated, presence=not repeated
        )
    presence = f.proto3_optional or in_oneof
    if f.type == _FDP.TYPE_ENUM:
        ref = declared[f.type_name.lstrip(".")].ref
        return replace(base, kind=FieldKind.ENUM, type=ref, repeated=repeated, presence=presence)
    return replace(base, scalar=_scalar(f), repeated=repeated, presence=presence)


def _scalar(f: descriptor_pb2.FieldDescriptorProto) -> str:
    return _FDP.Type.Name(f.type).removeprefix("TYPE_").lower()


def _reachable(
    roots: list[str], declared: dict[str, _Declared], reader: FieldRulesReader
) -> tuple[dict[str, MessageType], dict[str, EnumType]]:
    messages: dict[str, MessageType] = {}
    enums: dict[str, EnumType] = {}
    pending = list(roots)
    raw_rules: dict[str, bool] = {}
    while pending:
        name = pending.pop()
        if name in messages or name in enums:
            continue
        d = declared[name]
        if isinstance(d.proto, descriptor_pb2.EnumDescriptorProto):
            values = tuple((v.name, v.number) for v in d.proto.value)
            enums[name] = EnumType(d.ref, values, d.file.name, d.doc)
            continue
        if d.proto.options.map_entry:
            continue
        fields = tuple(
            replace(
                _field(d.proto, f, declared),
                doc=d.comments.get((*d.path, 2, k), ""),
                json_name=f.json_name,
                rules=reader.rules(f.options),
            )
            for k, f in enumerate(d.proto.field)
        )
        required_oneofs = tuple(o.name for o in d.proto.oneof_decl if oneof_required(o.options))
        messages[name] = MessageType(d.ref, fields, d.file.name, doc=d.doc, required_oneofs=required_oneofs)
        raw_rules[name] = _declares_rules(d.proto)
        pending.extend(f.type.full_name for f in fields if f.type is not None)
    rules = _propagate(messages, raw_rules)
    ordered = {k: replace(m, has_rules=rules[k]) for k, m in sorted(messages.items())}
    return ordered, dict(sorted(enums.items()))


def _declares_rules(msg: descriptor_pb2.DescriptorProto) -> bool:
    if _has_rules(msg.options.SerializeToString(), BUF_VALIDATE):
        return True
    if any(_has_rules(o.options.SerializeToString(), BUF_VALIDATE) for o in msg.oneof_decl):
        return True
    for f in msg.field:
        if field_behavior_pb2.REQUIRED in f.options.Extensions[field_behavior_pb2.field_behavior]:
            return True
        if _has_rules(f.options.SerializeToString(), BUF_VALIDATE):
            return True
    return False


def _propagate(messages: dict[str, MessageType], raw: dict[str, bool]) -> dict[str, bool]:
    result = dict(raw)
    changed = True
    while changed:
        changed = False
        for name, msg in messages.items():
            if result[name]:
                continue
            if any(f.type is not None and result.get(f.type.full_name, False) for f in msg.fields):
                result[name] = changed = True
    return result


def _has_rules(data: bytes, number: int) -> bool:
    return extension_payload(data, number) is not None


def _check_names(
    services: list[Service], messages: dict[str, MessageType], enums: dict[str, EnumType]
) -> None:
    taken: dict[tuple[str, str], str] = {}
    for ref in [m.ref for m in messages.values()] + [e.ref for e in enums.values()]:
        taken[(ref.package, ref.python_name)] = ref.full_name
    for svc in services:
        for name in (svc.name, f"{svc.name}Client"):
            clash = taken.get((svc.package, name))
            if clash is not None:
                raise CodegenError(
                    f"{svc.file}: service {svc.full_name} needs the Python name {name}, "
                    f"which {clash} already uses; rename one of them"
                )
            taken[(svc.package, name)] = svc.full_name


def _without_source_info(file: descriptor_pb2.FileDescriptorProto) -> bytes:
    copy = descriptor_pb2.FileDescriptorProto()
    copy.CopyFrom(file)
    copy.ClearField("source_code_info")
    return copy.SerializeToString(deterministic=True)
