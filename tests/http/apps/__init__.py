"""Handler implementations of the test documents."""
