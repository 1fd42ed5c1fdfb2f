"""A schema key that is a keyword misspelt checks nothing: codegen says so (OpenAPI, AsyncAPI, jobs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from microlib_codegen import asyncapi, jobs, openapi
from microlib_codegen.openapi import OpenAPIError
from tests.codegen.conftest import ROOT

DOCUMENT = """\
openapi: 3.1.0
info: {title: pets, version: '1'}
paths:
  /pets/{name}:
    get:
      operationId: getPet
      tags: [pets]
      parameters:
        - name: name
          in: path
          required: true
          schema: {type: string, minLenght: 1}
      responses:
        '200':
          description: the pet
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
              example: {requried: true}
components:
  schemas:
    Pet:
      type: object
      requried: [name]
      x-owner: team-pets
      internalNote: kept for the catalogue
      properties:
        name: {type: string}
        tags:
          type: array
          items: {type: string, maxLenght: 20}
"""

CHECKS_NOTHING = "is no schema keyword, so it checks nothing: did you mean"


def _rendered(spec: Path, text: str, render: Callable[..., object]) -> tuple[Path, list[str]]:
    """``spec`` written with ``text`` and rendered by ``render``, with the warnings it gave."""
    spec.write_text(text)
    warnings: list[str] = []
    render(spec, source_name=spec.name, warnings=warnings)
    return spec, warnings


def test_each_misspelt_keyword_is_a_warning_at_its_line(tmp_path: Path) -> None:
    """In a parameter's schema, a component's, an array's items; not in an example, a vendor
    extension or a key close to no keyword."""
    spec, warnings = _rendered(tmp_path / "pets.yaml", DOCUMENT, openapi.render)
    assert warnings == [
        f"{spec}:12: paths./pets/{{name}}.get.parameters[0].schema.minLenght: 'minLenght' {CHECKS_NOTHING} "
        "'minLength'?",
        f"{spec}:24: components.schemas.Pet.requried: 'requried' {CHECKS_NOTHING} 'required'?",
        f"{spec}:31: components.schemas.Pet.properties.tags.items.maxLenght: 'maxLenght' {CHECKS_NOTHING} "
        "'maxLength'?",
    ]


def test_a_misspelt_keyword_refused_by_openapi_30_is_named_at_its_line(tmp_path: Path) -> None:
    """OpenAPI 3.0's schema refuses the unknown key in a `oneOf` of the response around it,
    which names neither: the key, its line and the keyword instead."""
    spec = tmp_path / "pets.yaml"
    spec.write_text(DOCUMENT.replace("openapi: 3.1.0", "openapi: 3.0.3").replace(", minLenght: 1", ""))
    with pytest.raises(OpenAPIError) as refused:
        openapi.render(spec)
    assert str(refused.value) == (
        f"{spec}:24: invalid OpenAPI document at components.schemas.Pet.requried: 'requried' is no schema "
        "keyword, so it checks nothing: did you mean 'required'?"
    )


EVENTS = """\
asyncapi: 3.0.0
info: {title: pets events, version: '1'}
channels:
  adopted:
    address: pets.adopted
    messages:
      adopted: {$ref: '#/components/messages/adopted'}
operations:
  onAdopted:
    action: receive
    channel: {$ref: '#/channels/adopted'}
components:
  messages:
    adopted:
      name: Adopted
      payload:
        type: object
        requried: [name]
        properties:
          name: {type: string}
"""


def test_a_misspelt_keyword_of_an_asyncapi_payload_is_a_warning_at_its_line(tmp_path: Path) -> None:
    """A payload's schema, where the document is written, as for an OpenAPI document."""
    spec = tmp_path / "events.yaml"
    spec.write_text(EVENTS)
    # The AsyncAPI JSON Schemas the document is validated against: the checkout's node_modules.
    app = asyncapi.load(spec, package="events", proto={}, starts=[ROOT])
    asyncapi.render(app, source_name="events.yaml")
    assert app.spec.warnings == [
        f"{spec}:18: components.messages.adopted.payload.requried: 'requried' is no schema keyword, so it "
        "checks nothing: did you mean 'required'?"
    ]


JOBS = """\
microlib-jobs: "1.0"
name: pets.jobs
version: 1.0.0
jobs:
  groom:
    payload:
      type: object
      requried: [name]
      properties:
        name: {type: string}
    result:
      type: object
      properties:
        done: {type: boolean, defualt: false}
"""


def test_a_misspelt_keyword_of_a_job_payload_or_result_is_a_warning_at_its_line(tmp_path: Path) -> None:
    """The payload's and the result's schemas, each at its line."""
    spec, warnings = _rendered(tmp_path / "jobs.yaml", JOBS, jobs.render)
    assert warnings == [
        f"{spec}:8: jobs.groom.payload.requried: 'requried' {CHECKS_NOTHING} 'required'?",
        f"{spec}:14: jobs.groom.result.properties.done.defualt: 'defualt' {CHECKS_NOTHING} 'default'?",
    ]
