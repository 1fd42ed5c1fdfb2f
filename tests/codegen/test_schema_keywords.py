"""An OpenAPI 3.1 schema key that is a keyword misspelt checks nothing: codegen says so."""

from __future__ import annotations

from pathlib import Path

from microlib_codegen import openapi

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


def test_each_misspelt_keyword_is_a_warning_at_its_line(tmp_path: Path) -> None:
    """In a parameter's schema, a component's, an array's items; not in an example, a vendor
    extension or a key close to no keyword."""
    spec = tmp_path / "pets.yaml"
    spec.write_text(DOCUMENT)
    warnings: list[str] = []
    openapi.render(spec, source_name="pets.yaml", warnings=warnings)
    checks_nothing = "is no schema keyword, so it checks nothing: did you mean"
    assert warnings == [
        f"{spec}:12: paths./pets/{{name}}.get.parameters[0].schema.minLenght: 'minLenght' {checks_nothing} "
        "'minLength'?",
        f"{spec}:24: components.schemas.Pet.requried: 'requried' {checks_nothing} 'required'?",
        f"{spec}:31: components.schemas.Pet.properties.tags.items.maxLenght: 'maxLenght' {checks_nothing} "
        "'maxLength'?",
    ]
