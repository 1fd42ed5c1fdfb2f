# Generated from betterproto2 runtime by microlib-codegen 0.1.0. DO NOT EDIT.
# mypy: ignore-errors
import betterproto2

default_message_pool = betterproto2.MessagePool()
