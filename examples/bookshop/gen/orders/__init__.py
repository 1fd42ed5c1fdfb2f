# Generated from examples/bookshop/contracts/orders.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 9df5a8a2d906057d857c0ed7cbbb489dd607b36c155cae90803648afba3ae4a6
"""Generated code of examples/bookshop/contracts/orders.yaml."""

from __future__ import annotations
