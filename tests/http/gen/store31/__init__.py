# Generated from openapi.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: e8e7d87f728ea08e1967325881b410ec03475f1137336d2ef0de7379559f1444
"""Generated code of openapi.yaml."""

from __future__ import annotations
