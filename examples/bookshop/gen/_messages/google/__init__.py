# Generated from betterproto2 runtime by microlib-codegen 0.1.0. DO NOT EDIT.
# mypy: ignore-errors
