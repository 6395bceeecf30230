"""Functions of the web pages' own JavaScript, cut out of their files to run under node in tests."""

from __future__ import annotations


def js_function(source: str, name: str) -> str:
    """The text of `function name(...) {...}` in `source`, to its matching closing brace."""
    start = source.index(f"function {name}(")
    depth, i = 0, source.index("{", start)
    while True:
        depth += {"{": 1, "}": -1}.get(source[i], 0)
        i += 1
        if depth == 0:
            return source[start:i]
