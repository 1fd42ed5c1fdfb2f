"""The compiled REQUIRED plan against the general walk, over random messages of every contract.

``make_validator`` checks ``field_behavior = REQUIRED`` with a plan compiled
once per message type, and hands a message to protovalidate only when its type
declares ``buf.validate`` rules. The oracle here is the general path: a walk
that reads the descriptor at every field and descends into every message,
followed by protovalidate on every message. Both must report the same
violations (field path, message, rule id), in the same order, for random
messages of every type in the repository's contracts and test protos.
"""

from __future__ import annotations

import functools
import importlib
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import protovalidate
import pytest
from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protobuf.wkt.google.protobuf import descriptor_pb, duration_pb, field_mask_pb, timestamp_pb
from protovalidate._gen.buf.validate import validate_pb

from microlib.core.errors import InvalidArgument
from microlib.grpc import make_validator
from microlib.grpc.validation import _declares_rules, _plan_of
from tests.grpc.support import PROTOS, generate_with_layer

ROOT = Path(__file__).resolve().parents[2]
# Every .proto file in the repository: (import root, its files), each root compiled on its own.
PROTO_ROOTS = [
    (ROOT / "contracts", "microlib/**/*.proto"),
    (ROOT / "contracts/testdata", "**/*.proto"),
    (ROOT / "examples/bookshop/contracts", "**/*.proto"),
    (ROOT / "bench/http/protos", "**/*.proto"),
    (ROOT / "bench/grpc/protos", "**/*.proto"),
    (PROTOS, "**/*.proto"),
    (ROOT / "tests/codegen/fidelity/protos", "**/*.proto"),
    (ROOT / "tests/security/protos", "**/*.proto"),
]
Violation = tuple[str, str, str]  # field path, message, rule id
Pick = Callable[[int], int]  # a choice among n


# The general path.


def general_walk(message: Message, prefix: str = "") -> list[Violation]:
    """REQUIRED fields left unset, reading the descriptor at each field: the
    message's own in field order, then those of each message it holds."""
    fields = message.DESCRIPTOR.fields
    found = [
        (prefix + f.name, "value is required", "required") for f in fields if _unset_required(message, f)
    ]
    for f in fields:
        value = getattr(message, f.name)
        if _is_map(f):
            if f.message_type.fields_by_name["value"].message_type is not None:
                for key in value:
                    found += general_walk(value[key], f"{prefix}{f.name}[{_key_text(key)}].")
        elif f.message_type is not None and f.is_repeated:
            for index, item in enumerate(value):
                found += general_walk(item, f"{prefix}{f.name}[{index}].")
        elif f.message_type is not None and message.HasField(f.name):
            found += general_walk(value, f"{prefix}{f.name}.")
    return found


def general_violations(message: Message) -> list[Violation]:
    """The general walk, then what protovalidate finds that it did not."""
    found = general_walk(message)
    seen = {(field, rule) for field, _, rule in found}
    for violation in protovalidate.collect_violations(message):
        proto = violation.proto
        path = ""  # a rule of the whole message names no field
        for element in proto.field.elements if proto.field is not None else ():
            path += ("." if path else "") + element.field_name
            if element.subscript is not None:
                path += f"[{_key_text(element.subscript.value)}]"
        if (path, proto.rule_id) not in seen:
            found.append((path, proto.message, proto.rule_id))
    return found


def _unset_required(message: Message, f: FieldDescriptor) -> bool:
    options = descriptor_pb2.FieldOptions.FromString(f.GetOptions().SerializeToString())
    if field_behavior_pb2.REQUIRED not in options.Extensions[field_behavior_pb2.field_behavior]:
        return False
    if f.is_repeated:
        return len(getattr(message, f.name)) == 0
    if f.has_presence:
        return not message.HasField(f.name)
    return not getattr(message, f.name)


def _is_map(f: FieldDescriptor) -> bool:
    return f.is_repeated and f.message_type is not None and f.message_type.GetOptions().map_entry


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return f'"{key}"' if isinstance(key, str) else str(key)


# Random messages.


def fill(message: Message, pick: Pick, depth: int = 0) -> Message:
    """Sets a random subset of ``message``'s fields, to zero or other values,
    messages down to a few levels: REQUIRED fields go missing at every depth."""
    for f in message.DESCRIPTOR.fields:
        if pick(2):
            continue
        if _is_map(f):
            target = getattr(message, f.name)
            key_field, value_field = f.message_type.fields
            for _ in range(pick(3)):
                key = _scalar(key_field, pick)
                if value_field.message_type is None:
                    target[key] = _scalar(value_field, pick)
                elif depth < 3:
                    fill(target[key], pick, depth + 1)
        elif f.message_type is not None:
            if depth >= 3:
                continue
            if f.is_repeated:
                for _ in range(pick(3)):
                    fill(getattr(message, f.name).add(), pick, depth + 1)
            else:
                getattr(message, f.name).SetInParent()
                fill(getattr(message, f.name), pick, depth + 1)
        elif f.is_repeated:
            getattr(message, f.name).extend(_scalar(f, pick) for _ in range(pick(3)))
        else:
            setattr(message, f.name, _scalar(f, pick))
    return message


def _scalar(f: FieldDescriptor, pick: Pick) -> Any:
    if f.enum_type is not None:
        choices: list[Any] = [v.number for v in f.enum_type.values[:3]]
    elif f.type == FieldDescriptor.TYPE_BYTES:
        choices = [b"", b"x", b"\x00\xff"]
    elif f.cpp_type == FieldDescriptor.CPPTYPE_STRING:
        choices = ["", "a", 'b "c"', "ABC-1234"]
    elif f.cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        choices = [False, True]
    elif f.cpp_type in (FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT):
        choices = [0.0, -0.0, 1.5]
    else:
        choices = [0, 1, 7, 100]
    return choices[pick(len(choices))]


# The message types of every contract.


@functools.cache
def _validate_set(out: Path) -> Path:
    """``buf/validate/validate.proto`` for protoc, from protovalidate's own descriptor."""
    fds = descriptor_pb2.FileDescriptorSet()
    for module in (descriptor_pb, duration_pb, field_mask_pb, timestamp_pb, validate_pb):
        fds.file.add().ParseFromString(module.desc().proto.to_binary())
    path = out / "validate.binpb"
    path.write_bytes(fds.SerializeToString())
    return path


def _compiled(root: Path, pattern: str, out: Path) -> descriptor_pb2.FileDescriptorSet:
    includes = Path(importlib.import_module("google.api").__path__[0]).parent.parent
    protos = sorted(str(p.relative_to(root)) for p in root.glob(pattern))
    target = out / f"{root.name}-{len(os.listdir(out))}.binpb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{root}",
            f"-I{ROOT / 'contracts'}",
            f"-I{includes}",
            f"--descriptor_set_in={_validate_set(out)}",
            "--include_imports",
            f"--descriptor_set_out={target}",
            *protos,
        ],
        check=True,
        capture_output=True,
    )
    return descriptor_pb2.FileDescriptorSet.FromString(target.read_bytes())


def _message_types(fds: descriptor_pb2.FileDescriptorSet) -> Iterator[Descriptor]:
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:
        pool.Add(file)
    pending = [d for file in fds.file for d in pool.FindFileByName(file.name).message_types_by_name.values()]
    while pending:
        d = pending.pop(0)
        pending += d.nested_types
        if not d.GetOptions().map_entry:
            yield d


@pytest.fixture(scope="module")
def message_types(tmp_path_factory: pytest.TempPathFactory) -> dict[str, type[Message]]:
    """A class for every message type declared in the repository's .proto files and their imports."""
    out = tmp_path_factory.mktemp("contracts")
    found: dict[str, type[Message]] = {}
    for root, pattern in PROTO_ROOTS:
        for d in _message_types(_compiled(root, pattern, out)):
            found.setdefault(d.full_name, message_factory.GetMessageClass(d))
    return found


def _outcome(validate: Callable[[Any], None], message: Any) -> tuple[list[Violation], str]:
    try:
        validate(message)
    except InvalidArgument as exc:
        return [(v.field, v.description, v.rule) for v in exc.violations], str(exc)
    return [], ""


def _expected_text(name: str, violations: list[Violation]) -> str:
    if not violations:
        return ""
    field, description, _ = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    return f"invalid {name}: {field}: {description}{more}"


class TestAgainstTheGeneralPath:
    def test_every_contract_message(self, message_types: dict[str, type[Message]]) -> None:
        """Random messages of every type in the repository's contracts and test protos,
        validated through ``make_validator``: the same violations, order and text as the
        general walk followed by protovalidate."""
        assert len(message_types) > 150  # the contracts were all found
        missing_at: set[int] = set()
        for name, cls in sorted(message_types.items()):
            validate = make_validator(cls, lambda m: m)
            rng = random.Random(name)
            for _ in range(30):
                message = fill(cls(), rng.randrange)
                expected = general_violations(message)
                missing_at.update(field.count(".") for field, _, rule in expected if rule == "required")
                assert _outcome(validate, message) == (expected, _expected_text(name, expected)), message
        assert missing_at >= {0, 1, 2, 3}  # REQUIRED fields went missing at several depths

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def test_every_field_shape(self, message_types: dict[str, type[Message]], data: st.DataObject) -> None:
        """Messages with REQUIRED fields of every shape (scalars, proto3 optional,
        proto2, repeated, maps keyed by string, int and bool, oneof members,
        messages that contain themselves): the plan finds what the general walk finds."""
        name = data.draw(st.sampled_from(["Everything", "Node", "Ping", "Pong", "Legacy"]))
        message = fill(message_types[f"requiredtest.v1.{name}"](), lambda n: data.draw(st.integers(0, n - 1)))
        validate = make_validator(type(message), lambda m: m)
        expected = general_walk(message)
        assert _outcome(validate, message) == (
            expected,
            _expected_text(message.DESCRIPTOR.full_name, expected),
        )


class TestPlan:
    def test_a_message_that_contains_itself_is_checked_at_every_depth(
        self, message_types: dict[str, type[Message]]
    ) -> None:
        """A message type that holds itself (singly, in a list, in a map) or holds one
        that holds it back is descended into at every level, whichever type is planned first."""
        node = message_types["requiredtest.v1.Node"]
        message = node(child=node(children=[node(name="x"), node()]), named={"k": node(child=node())})
        expected = [
            "name",
            "child.name",
            "child.children[1].name",
            'named["k"].name',
            'named["k"].child.name',
        ]
        assert [field for field, _, _ in _outcome(make_validator(node, lambda m: m), message)[0]] == expected
        ping, pong = message_types["requiredtest.v1.Ping"], message_types["requiredtest.v1.Pong"]
        deep_pong = pong(ping=ping(pong=pong(ping=ping(pong=pong(id="set")))))
        assert _outcome(make_validator(pong, lambda m: m), deep_pong)[0] == [
            ("id", "value is required", "required"),
            ("ping.pong.id", "value is required", "required"),
        ]
        assert _outcome(make_validator(ping, lambda m: m), ping(pong=deep_pong))[0] == [
            ("pong.id", "value is required", "required"),
            ("pong.ping.pong.id", "value is required", "required"),
        ]

    def test_required_fields_come_first_in_field_order_then_nested_ones(
        self, message_types: dict[str, type[Message]]
    ) -> None:
        """An empty message reports its own REQUIRED fields in declaration order,
        zero values and empty lists counting as unset, set optional fields as set."""
        everything = message_types["requiredtest.v1.Everything"]
        message = everything(maybe="", leaf={}, chosen_leaf={})
        message.by_number[3].note = "x"
        assert [field for field, _, _ in _outcome(make_validator(everything, lambda m: m), message)[0]] == [
            "text",
            "number",
            "flag",
            "blob",
            "ratio",
            "color",
            "words",
            "leaves",
            "by_name",
            "labels",
            "chosen_text",
            "at",
            "leaf.name",
            "leaf.rank",
            "by_number[3].name",
            "by_number[3].rank",
            "chosen_leaf.name",
            "chosen_leaf.rank",
        ]

    def test_plan_is_compiled_once_per_message_type(self, message_types: dict[str, type[Message]]) -> None:
        """Validators of the same message type share one plan, and a type that
        cannot hold a REQUIRED field has none."""
        node = message_types["requiredtest.v1.Node"].DESCRIPTOR
        assert _plan_of(node) is _plan_of(node)
        assert _plan_of(message_types["requiredtest.v1.Unchecked"].DESCRIPTOR) is None


class TestProtovalidateIsAskedOnlyWhenRulesExist:
    @pytest.mark.parametrize(
        ("name", "rules"),
        [
            ("requiredtest.v1.Everything", False),
            ("requiredtest.v1.Node", False),
            ("requiredtest.v1.Unchecked", False),
            ("requiredtest.v1.RulesBelow", True),
            ("requiredtest.v1.RulesOnOneof", True),
            ("requiredtest.v1.RulesOnMessage", True),
            ("echotest.v1.EchoRequest", True),
            ("benchorders.v1.CreateOrderRequest", True),
            ("bookshop.v1.CreateBookRequest", False),
        ],
    )
    def test_rules_are_found_wherever_they_are_declared(
        self, message_types: dict[str, type[Message]], name: str, rules: bool
    ) -> None:
        """``buf.validate`` rules on a field, a oneof, the message or a message it holds
        count; REQUIRED alone does not."""
        assert _declares_rules(message_types[name].DESCRIPTOR) is rules

    def test_rules_only_on_a_oneof_or_the_message_are_enforced(
        self, message_types: dict[str, type[Message]]
    ) -> None:
        """protovalidate still reports the rules it alone enforces."""
        for name, message in [
            ("RulesOnOneof", {}),
            ("RulesOnMessage", {"lo": 2, "hi": 1}),
            ("RulesBelow", {"ruled": {}}),
        ]:
            cls = message_types[f"requiredtest.v1.{name}"]
            with pytest.raises(InvalidArgument):
                make_validator(cls, lambda m: m)(cls(**message))

    def test_protovalidate_is_not_imported_for_required_fields_alone(self) -> None:
        """A service whose contracts declare REQUIRED fields but no buf.validate rule
        never imports protovalidate, whose import is the largest of a gRPC service."""
        script = (
            "import sys\n"
            "from examples.bookshop.gen import _codec\n"
            "from examples.bookshop.gen.bookshop.v1 import CreateBookRequest\n"
            "try:\n"
            "    _codec.validate_bookshop__v1__CreateBookRequest(CreateBookRequest())\n"
            "except Exception as exc:\n"
            "    print(type(exc).__name__, exc)\n"
            "print('protovalidate' in sys.modules)\n"
        )
        env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'codegen'}"}
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        assert done.stdout.splitlines() == [
            "InvalidArgument invalid bookshop.v1.CreateBookRequest: shelf: value is required (and 1 more)",
            "False",
        ]


@pytest.fixture(scope="module", params=["betterproto2", "upb"])
def layer(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> ModuleType:
    """``microlib codegen`` output for the REQUIRED test contract with one message layer."""
    layer = str(request.param)
    out = tmp_path_factory.mktemp("codegen")
    return generate_with_layer("requiredtest/v1/required.proto", out, f"requiredgen_{layer}", layer)


def test_generated_validators_of_each_message_layer(layer: ModuleType) -> None:
    """The generated ``validate_request`` of each method, on the messages its layer's
    users hold (betterproto2 dataclasses or upb messages), reports what the general
    path finds on the upb message it converts them to."""
    codecs = importlib.import_module(f"{layer.__name__}._codec").CODECS
    definition = importlib.import_module(
        f"{layer.__name__}.requiredtest.v1"
    ).RequiredService.__microlib_service__
    checked = 0
    for method in definition.methods.values():
        if method.validate_request is None:
            continue
        codec = codecs[method.request_type]
        rng = random.Random(method.name)
        for _ in range(50):
            users = codec.from_upb(fill(codec.upb_type(), rng.randrange))
            expected = general_violations(codec.to_upb(users))
            name = codec.upb_type.DESCRIPTOR.full_name
            assert _outcome(method.validate_request, users) == (expected, _expected_text(name, expected))
            checked += 1
    assert checked == 50 * 6  # every method but Plain's (no rules at all) has a validator
