# Generated from openapi.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 49917a4b923a92efbfb2f159e6804d61d8240c6659e3208ab6db1e9912856f70
"""Generated code of openapi.yaml."""

from __future__ import annotations
