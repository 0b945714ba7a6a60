"""Measuring how deeply a JSON text nests, before handing it to the parser."""

from __future__ import annotations

import re
from itertools import accumulate

__all__ = ["MAX_DEPTH", "max_depth"]

MAX_DEPTH = 200
"""Deepest nesting Concord parses; real API payloads and exports nest under twenty levels."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def max_depth(text: str) -> int:
    """How deeply the JSON in ``text`` nests, or an upper bound under MAX_DEPTH (brackets in strings ignored).

    Checked before parsing: the C JSON parser recurses once per level, and in a process whose recursion
    limit was raised, 100k levels overflow the C stack (a crash, not a RecursionError).
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if len(brackets) <= MAX_DEPTH:
        return len(brackets) // 2 + 1
    steps = accumulate(1 if ch in "[{" else -1 for ch in brackets)
    return max(steps, default=0)
