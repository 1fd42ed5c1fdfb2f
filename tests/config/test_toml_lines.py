"""TOML keys are traced to their line through strings, comments, arrays and table headers."""

from __future__ import annotations

from microlib.config._toml import parse_toml

DOCUMENT = '''# header comment
title = "x"   # trailing [comment]
[http]
port = 8080
"host" = "a=b"
desc = """
line [ {
with quotes "" and \\"""
"""
literal = \'\'\'
[not.a.table]
x = 1 \'\'\'
hosts = [
  "a", # ]
  "]",
]
inline = { a = 1, b = [2] }

[logging.levels]
"uvicorn.access" = "DEBUG"
a.b.c = "INFO"

[[routes]]
path = "/a"
'''


def test_each_key_gets_its_line() -> None:
    """Multi-line strings and arrays do not confuse the line finder; quoted and dotted keys work."""
    parsed = parse_toml(DOCUMENT)
    assert parsed.lines[("title",)] == 2
    assert parsed.lines[("http", "port")] == 4
    assert parsed.lines[("http", "host")] == 5
    assert parsed.lines[("http", "literal")] == 10
    assert parsed.lines[("http", "hosts")] == 13
    assert ("not", "a", "table") not in parsed.lines
    assert parsed.lines[("logging", "levels", "uvicorn.access")] == 20
    assert parsed.lines[("logging", "levels", "a", "b", "c")] == 21
    assert parsed.lines[("routes",)] == 23
    assert parsed.line_of(("http", "inline", "b")) == 17
    assert parsed.data["http"]["hosts"] == ["a", "]"]
