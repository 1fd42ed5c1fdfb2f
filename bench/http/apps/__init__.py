"""The servers compared by bench/http/run.py."""
