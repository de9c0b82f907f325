"""Bounds on a JSON text, checked before anything parses it.

Python's `json` recurses once per nesting level (8000 `[` raise `RecursionError`) and refuses integers of more
than 4300 digits with a bare `ValueError`; either would surface as a 500 with a stack trace. Every body this service
reads (its own routes and the gateways' callbacks) is two or three levels deep and carries small numbers, so a cheap
linear scan refuses anything deeper or longer first, with a reason that names no part of the input.
"""

from __future__ import annotations

import re

MAX_DEPTH = 32
"""Nested arrays and objects, outermost included; the contract's deepest body has 2."""

MAX_NUMBER_CHARS = 32
"""Characters of one numeric literal: any 64-bit integer (20) or double in its shortest form (24) fits."""

TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels"
NUMBER_TOO_LONG = f"JSON number longer than {MAX_NUMBER_CHARS} characters"

# A string, its closing quote optional: an unterminated string runs to the end, so nothing is ever tried twice
# (linear time whatever the text) and whatever it holds is not structure.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_LONG_NUMBER = re.compile(rf"[-0-9][-+0-9.eE]{{{MAX_NUMBER_CHARS},}}")
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JsonTooComplex(ValueError):
    """A JSON text nested too deep or holding too long a number; `str()` is `TOO_DEEP` or `NUMBER_TOO_LONG`."""


def check_json_bounds(text: str) -> None:
    """Raise `JsonTooComplex` when `text`, outside its strings, nests deeper than `MAX_DEPTH` or holds a numeric
    literal longer than `MAX_NUMBER_CHARS`. Linear in the text's length; says nothing about whether it is JSON."""
    structure = _STRING.sub('""', text)
    if _LONG_NUMBER.search(structure):
        raise JsonTooComplex(NUMBER_TOO_LONG)
    depth = 0
    for bracket in _NOT_BRACKET.sub("", structure):
        # A stray closer is a syntax error the parser stops at; counting from zero again stays conservative.
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            raise JsonTooComplex(TOO_DEEP)
