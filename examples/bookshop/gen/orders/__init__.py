# Generated from examples/bookshop/contracts/orders.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: bdee3aec05eaf98e1d3b948e96a0a99e5e98c28b35ec001cc2dcf9dbd2f3e491
"""Generated code of examples/bookshop/contracts/orders.yaml."""

from __future__ import annotations
