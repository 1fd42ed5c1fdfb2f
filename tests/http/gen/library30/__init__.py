# Generated from openapi.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 3f267fb8fbc3fa5b758a444a9acbc6a9876e5ed5295806204610675439a2e85f
"""Generated code of openapi.yaml."""

from __future__ import annotations
