"""Tests for microlib.config."""
