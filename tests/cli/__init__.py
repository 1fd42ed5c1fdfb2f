"""Tests for the microlib command line."""
