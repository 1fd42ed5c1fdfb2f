"""Shapes of the AsyncAPI specification's own examples (asyncapi/spec `examples/`) that
microlib refused, reported unclearly or named badly: each fixture is a minimal document
of that shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from microlib_codegen._bundle import _Loader
from microlib_codegen.asyncapi import AsyncAPIError, load
from tests.codegen.conftest import ROOT, codegen, python

# correlation-id.yml, simple.yml...: 2.0 to 2.5 documents, here 2.1 with a channel
# parameter that is a $ref (which the 2.0 to 2.2 JSON Schemas refuse, wrongly).
OLDER_2X = """\
asyncapi: '2.1.0'
info: {title: Lights, version: '1.0.0'}
channels:
  lights/{lightId}/dim:
    parameters:
      lightId:
        $ref: '#/components/parameters/lightId'
    subscribe:
      operationId: dimLight
      message:
        payload:
          type: object
          properties:
            percentage: {type: integer}
components:
  parameters:
    lightId:
      schema: {type: string}
"""

# websocket-gemini.yml, mercure.yml, the streetlights-mqtt examples: servers of
# protocols no microlib broker speaks, next to one it does.
SERVERS = """\
asyncapi: 3.0.0
info: {title: Market, version: 1.0.0}
servers:
  public:
    host: api.example.com
    protocol: wss
  internal:
    host: rabbitmq.example.com
    protocol: amqp
channels:
  market:
    address: market
    messages:
      tick:
        payload: {type: object, properties: {price: {type: number}}}
operations:
  sendTick:
    action: send
    channel: {$ref: '#/channels/market'}
"""

# websocket-gemini.yml and rpc-server.yml as first written for 3.0: a 2.x parameter
# (its `schema`) in a 3.0 document.
PARAMETER_SCHEMA = """\
asyncapi: 3.0.0
info: {title: Market, version: 1.0.0}
channels:
  market:
    address: market/{symbol}
    parameters:
      symbol:
        schema: {type: string, enum: [btcusd]}
"""

# kraken-websocket-request-reply-multiple-channels.yml: channels of one address, each
# with its own message, received by operations of their own.
SHARED_ADDRESS = """\
asyncapi: 3.0.0
info: {title: Kraken, version: 1.0.0}
channels:
  heartbeat:
    address: /
    messages:
      heartbeat: {payload: {type: object, properties: {event: {const: heartbeat}}}}
  systemStatus:
    address: /
    messages:
      systemStatus: {payload: {type: object, properties: {event: {const: systemStatus}}}}
operations:
  heartbeat:
    action: receive
    channel: {$ref: '#/channels/heartbeat'}
  systemStatus:
    action: receive
    channel: {$ref: '#/channels/systemStatus'}
  heartbeatAgain:
    action: receive
    channel: {$ref: '#/channels/heartbeat'}
"""

# adeo-kafka-request-reply.yml: a payload schema on the web.
REMOTE_REF = """\
asyncapi: 3.0.0
info: {title: Costing, version: 1.0.0}
channels:
  costing:
    address: costing
    messages:
      request:
        payload:
          $ref: 'https://example.com/schemas/CostingRequest.json'
operations:
  sendRequest:
    action: send
    channel: {$ref: '#/channels/costing'}
"""

# social-media/comments-service/asyncapi.yaml: messages in a file of their own, by key.
MESSAGES_FILE = """\
commentLiked:
  payload:
    type: object
    properties:
      commentId: {type: string}
"""
COMMENTS_30 = """\
asyncapi: 3.0.0
info: {title: Comments, version: 1.0.0}
channels:
  commentLiked:
    address: comment/liked
    messages:
      liked:
        $ref: 'messages.yaml#/commentLiked'
operations:
  receiveCommentLiked:
    action: receive
    channel: {$ref: '#/channels/commentLiked'}
"""
COMMENTS_22 = """\
asyncapi: 2.2.0
info: {title: Comments, version: 1.0.0}
channels:
  comment/liked:
    publish:
      operationId: receiveCommentLiked
      message:
        $ref: 'messages.yaml#/commentLiked'
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


class TestVersions:
    def test_a_2x_document_before_2_6_is_read_as_2_6(self, tmp_path: Path) -> None:
        """2.0 to 2.5 generate as 2.6 does; a $ref'd channel parameter, which the 2.1 schema
        refuses, is checked against 2.6's."""
        doc = _write(tmp_path, "lights.yaml", OLDER_2X)
        app = load(doc, package="lights", proto={}, starts=[ROOT])
        assert app.spec.asyncapi == "2.1.0"
        [op] = app.spec.operations
        assert (op.name, op.action, op.address) == ("dimLight", "send", "lights/{lightId}/dim")
        assert [p.name for p in op.params] == ["lightId"]

    def test_a_2x_document_that_breaks_the_schema_says_what_it_was_checked_as(self, tmp_path: Path) -> None:
        """The refusal names the version written and the schema used, then each problem."""
        doc = _write(tmp_path, "lights.yaml", OLDER_2X.replace("operationId: dimLight", "operationId: 7"))
        with pytest.raises(AsyncAPIError) as caught:
            load(doc, package="lights", proto={}, starts=[ROOT])
        lines = str(caught.value).splitlines()
        assert lines[0] == f"{doc}: not a valid AsyncAPI 2.1.0 document (1 problem(s), checked as 2.6.0):"
        where = f"{doc}:9: channels.lights/{{lightId}}/dim.subscribe.operationId"
        assert lines[1:] == [f"{where}: 7 is not of type 'string'"]


def test_a_field_the_object_does_not_take_is_named_with_those_it_takes(tmp_path: Path) -> None:
    """Not jsonschema's "'schema' does not match any of the regexes: '^x-...'"."""
    doc = _write(tmp_path, "market.yaml", PARAMETER_SCHEMA)
    with pytest.raises(AsyncAPIError) as caught:
        load(doc, package="market", proto={}, starts=[ROOT])
    assert str(caught.value).splitlines()[1] == (
        f"{doc}:7: channels.market.parameters.symbol: unknown field(s) 'schema': "
        "expected description, enum, default, examples, location or x- extensions"
    )


def test_a_server_no_broker_speaks_is_reported_and_the_operations_are_generated(tmp_path: Path) -> None:
    """One warning per server whose protocol microlib's brokers do not speak, at its line;
    the operations are generated all the same."""
    doc = _write(tmp_path, "market.yaml", SERVERS)
    app = load(doc, package="market", proto={}, starts=[ROOT])
    assert app.spec.warnings == [
        f"{doc}:6: servers.public.protocol: no microlib broker speaks wss (they speak amqp, amqps, "
        "kafka, kafka-secure, redis): the operations are generated and run on the broker messaging.url names"
    ]
    assert [op.name for op in app.spec.operations] == ["sendTick"]


def test_receive_operations_of_one_address_with_other_messages_are_generated_without_warning(
    tmp_path: Path,
) -> None:
    """An operation per message of one channel is how AsyncAPI 3 splits a channel's
    messages between handlers; the runtime hands each message to the operation
    carrying it (tests/messaging/test_shared_address.py), so nothing is reported."""
    doc = _write(tmp_path, "kraken.yaml", SHARED_ADDRESS)
    app = load(doc, package="kraken", proto={}, starts=[ROOT])
    assert app.spec.warnings == []
    assert [op.name for op in app.spec.operations if op.action == "receive"] == [
        "heartbeat",
        "systemStatus",
        "heartbeatAgain",
    ]


def test_a_remote_ref_is_refused_at_its_line(tmp_path: Path) -> None:
    """A $ref to a URL names the file and line of the $ref and says how to make it local,
    instead of a path glued to the URL that cannot be read."""
    doc = _write(tmp_path, "costing.yaml", REMOTE_REF)
    with pytest.raises(AsyncAPIError) as caught:
        load(doc, package="costing", proto={}, starts=[ROOT])
    assert str(caught.value) == (
        f"{doc}:9: $ref 'https://example.com/schemas/CostingRequest.json' is remote: codegen reads "
        "local files only (save it next to the document and refer to it by its relative path)"
    )


@pytest.mark.parametrize("document", [COMMENTS_30, COMMENTS_22], ids=["3.0", "2.2"])
def test_a_message_from_a_file_of_messages_is_named_by_its_key_there(tmp_path: Path, document: str) -> None:
    """`messages.yaml#/commentLiked` is the message commentLiked, not one named after its operation."""
    _write(tmp_path, "messages.yaml", MESSAGES_FILE)
    doc = _write(tmp_path, "comments.yaml", document)
    app = load(doc, package="comments", proto={}, starts=[ROOT])
    [op] = app.spec.operations
    assert [m.name for m in op.messages] == ["commentLiked"]
    assert op.messages[0].payload == "CommentLiked"


def test_a_document_named_like_a_python_keyword_generates_an_importable_package(tmp_path: Path) -> None:
    """not.yaml generates the package `not_` (the ruff run on its stub failed on `from gen.not import`)."""
    _write(tmp_path, "not.yaml", SERVERS.replace("wss", "amqp").replace("action: send", "action: receive"))
    result = codegen(tmp_path / "not.yaml", "--out", tmp_path / "gen_kw", "--stubs", tmp_path / "stubs_kw")
    assert result.returncode == 0, result.stderr
    check = "import gen_kw.not_ as g, stubs_kw.not__handlers\nprint(sorted(g.DEFINITION.operations))\n"
    run = subprocess.run(
        [sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "['sendTick']\n"


@pytest.mark.parametrize(
    "source",
    [
        ROOT / "tests" / "messaging" / "real_contracts" / "streetlights-kafka.yaml",
        ROOT / "tests" / "codegen" / "fidelity" / "openapi" / "naming.yaml",
    ],
    ids=["asyncapi", "openapi"],
)
def test_a_document_in_json_on_one_line_is_a_contract(tmp_path: Path, source: Path) -> None:
    """Minified JSON (`{"asyncapi":"2.5.0",...}`, as APIs serve their openapi.json): its kind was
    looked for at the start of a line only, and the contract refused as one codegen does not know."""
    document = yaml.load(source.read_text(), Loader=_Loader)  # a SafeLoader, YAML 1.2 booleans
    minified = tmp_path / "minified.json"
    minified.write_text(json.dumps(document, separators=(",", ":")))
    result = codegen(minified, "--out", tmp_path / "gen_min", "--stubs", tmp_path / "stubs_min")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "gen_min" / "minified" / "__init__.py").is_file()


@pytest.mark.parametrize(
    ("source", "served"),
    [
        (ROOT / "tests" / "messaging" / "real_contracts" / "streetlights-kafka.yaml", "asyncapi.json"),
        (ROOT / "tests" / "codegen" / "fidelity" / "openapi" / "naming.yaml", "openapi.json"),
    ],
    ids=["asyncapi", "openapi"],
)
def test_json_escapes_of_a_character_beyond_the_bmp_are_one_character(
    tmp_path: Path, source: Path, served: str
) -> None:
    """JSON as json.dumps writes it escapes 🌃 as the surrogate pair `\\ud83c\\udf03`, which
    was read as two lone surrogates: codegen ended in a UnicodeEncodeError traceback."""
    document = yaml.load(source.read_text(), Loader=_Loader)  # a SafeLoader, YAML 1.2 booleans
    document["info"]["description"] = "Turn a streetlight on/off 🌃"
    escaped = tmp_path / "escaped.json"
    escaped.write_text(json.dumps(document, indent=2))
    assert "\\ud83c\\udf03" in escaped.read_text()
    result = codegen(escaped, "--out", tmp_path / "gen_esc", "--stubs", tmp_path / "stubs_esc")
    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "gen_esc" / "escaped" / served).read_text(encoding="utf-8"))
    assert written["info"]["description"] == "Turn a streetlight on/off 🌃"


# websocket-gemini.yml: a 3.0 parameter is an enum (and a default, examples...); in 2.6
# its `schema` says it, here with a pattern; a parameter that only describes itself
# constrains nothing.
GEMINI_3 = """\
asyncapi: 3.0.0
info: {title: Market, version: 1.0.0}
channels:
  market:
    address: market.{symbol}.{venue}
    parameters:
      symbol: {enum: [btcusd, ethusd], default: btcusd, description: The market, examples: [btcusd]}
      venue: {description: Where it trades}
    messages:
      tick:
        payload: {type: object, properties: {price: {type: number}}}
operations:
  sendTick:
    action: send
    channel: {$ref: '#/channels/market'}
"""

GEMINI_2 = """\
asyncapi: 2.6.0
info: {title: Market, version: 1.0.0}
channels:
  market.{symbol}.{venue}:
    parameters:
      symbol:
        schema: {type: string, enum: [btcusd, ethusd], pattern: '^[a-z]+$', description: The market}
      venue:
        schema: {type: string}
    subscribe:
      operationId: sendTick
      message:
        payload: {type: object, properties: {price: {type: number}}}
"""


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (GEMINI_3, {"symbol": {"enum": ["btcusd", "ethusd"]}}),
        (GEMINI_2, {"symbol": {"enum": ["btcusd", "ethusd"], "pattern": "^[a-z]+$"}}),
        (GEMINI_3.replace("enum: [btcusd, ethusd], ", ""), {}),
    ],
    ids=["3.0", "2.6", "unconstrained"],
)
def test_a_channel_parameters_constraints_reach_the_generated_definition(
    tmp_path: Path, document: str, expected: dict[str, Any]
) -> None:
    """The enum of a 3.0 parameter, the checked keywords of a 2.x parameter's schema
    (a string's `type` constrains nothing), reach the operation's `parameter_schemas`;
    a contract whose parameters constrain nothing generates none."""
    _write(tmp_path, "market.yaml", document)
    result = codegen(tmp_path / "market.yaml", "--out", tmp_path / "gen_p")
    assert result.returncode == 0, result.stderr
    op = "g.DEFINITION.operations['sendTick']"
    check = f"import json, gen_p.market as g\nprint(json.dumps({op}.parameter_schemas))\n"
    run = subprocess.run(
        [sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == expected
    generated = (tmp_path / "gen_p" / "market" / "application.py").read_text()
    assert ("parameter_schemas=" in generated) == bool(expected)


# The AsyncAPI 2.x specification's own example of a parameter's `location`.
SIGNUPS = """\
asyncapi: 2.6.0
info: {title: Accounts, version: 1.0.0}
channels:
  user/{userId}/signedup:
    parameters:
      userId:
        description: Id of the user.
        schema: {type: string}
        location: $message.payload#/user/id
    subscribe:
      operationId: sendSignup
      message: {$ref: '#/components/messages/signup'}
    publish:
      operationId: onSignup
      message: {$ref: '#/components/messages/signup'}
components:
  messages:
    signup:
      payload:
        type: object
        properties:
          user: {type: object, properties: {id: {type: string}}}
"""

SIGNUP_ROUND_TRIP = """\
import asyncio
import gen_l.accounts as g
from microlib import Service
from microlib.testing import TestService

seen = []

class Accounts(g.AccountsConsumer):
    async def on_signup(self, payload, ctx):
        seen.append(ctx.address)

async def main():
    service = Service("accounts")
    service.include(Accounts())
    async with TestService(service) as t:
        await g.AccountsPublisher(service.publisher).send_signup(g.models.Signup(user={"id": "u-7"}))
        while not seen:
            await asyncio.sleep(0.01)
    print(seen[0])

asyncio.run(main())
"""


def test_a_parameter_located_in_the_payload_may_be_left_out_by_the_publisher(tmp_path: Path) -> None:
    """The parameter's `location` reaches the definition; the typed publisher method's
    argument becomes optional, and a message sent without it goes to the address its
    payload names."""
    _write(tmp_path, "accounts.yaml", SIGNUPS)
    result = codegen(tmp_path / "accounts.yaml", "--out", tmp_path / "gen_l")
    assert result.returncode == 0, result.stderr
    generated = (tmp_path / "gen_l" / "accounts" / "application.py").read_text()
    assert "user_id: str | None = None," in generated
    assert 'parameter_locations={"userId": "$message.payload#/user/id"}' in generated
    run = subprocess.run(
        [sys.executable, "-c", SIGNUP_ROUND_TRIP],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "user/u-7/signedup" in run.stdout.splitlines()  # among the service's log lines


def test_a_parameter_location_outside_the_message_is_refused_naming_it(tmp_path: Path) -> None:
    """The specification's schema holds a location to the message; its error names the key."""
    _write(tmp_path, "accounts.yaml", SIGNUPS.replace("$message.payload#/user/id", "$request.body#/id"))
    result = codegen(tmp_path / "accounts.yaml", "--out", tmp_path / "gen_l")
    assert result.returncode != 0
    assert "accounts.yaml" in result.stderr
    assert "parameters.userId.location: '$request.body#/id' does not match" in result.stderr
    assert "Traceback" not in result.stderr


# operation-security-asyncapi.yml (asyncapi/spec examples/, Apache-2.0), trimmed: a boolean whose
# default is written as a string, which JSON Schema allows (a default is only recommended to be valid).
STRING_DEFAULT = """\
asyncapi: 3.0.0
info:
  title: Notifications
  version: 1.0.0
channels:
  authRevoke:
    address: AUTHORIZATION_REVOCATION
    messages:
      message: {payload: {type: object, properties: {metadata: {$ref: '#/components/schemas/MetaData'}}}}
operations:
  sendAuthRevoke:
    action: send
    channel: {$ref: '#/channels/authRevoke'}
components:
  schemas:
    MetaData:
      type: object
      properties:
        topic: {type: string}
        deprecated:
          type: boolean
          description: If this is a deprecated schema or topic.
          default: 'false'
"""


def test_a_default_its_own_type_refuses_is_left_out_of_the_model_with_a_warning(tmp_path: Path) -> None:
    """The model was `deprecated: bool = 'false'`: mypy --strict refused the generated package, and a
    message without the field handed the handler the string 'false' where it reads a bool."""
    _write(tmp_path, "notifications.yaml", STRING_DEFAULT)
    result = codegen(tmp_path / "notifications.yaml", "--out", tmp_path / "gen_sd")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"warning: {tmp_path / 'notifications.yaml'}:23: components.schemas.MetaData.properties.deprecated"
        ".default: default 'false' is not of its type boolean: left out of the model"
    ]
    run = python(
        "from gen_sd.notifications import models\nprint(repr(models.MetaData().deprecated))\n", tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == "MISSING\n"
