"""Generated packages used by the HTTP tests (see test_codegen_openapi.py)."""
