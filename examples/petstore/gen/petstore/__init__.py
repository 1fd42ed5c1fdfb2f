# Generated from examples/petstore/contracts/petstore.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: fdc4529a543b23880a72f1b739441f9c911948c8f50b7c93986fc68ec09085d5
"""Generated code of examples/petstore/contracts/petstore.yaml."""

from __future__ import annotations
