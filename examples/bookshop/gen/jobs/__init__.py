# Generated from examples/bookshop/contracts/jobs.yaml by microlib-codegen 0.1.0. DO NOT EDIT.
# source sha256: 7120ccccfa70879e5b7d7363d8de171ba04352b23420d98bc1d8b38798ec7d0e
"""Generated code of examples/bookshop/contracts/jobs.yaml."""
