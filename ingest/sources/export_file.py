"""Reading an export file that may be damaged: every readable message kept, every unreadable one named.

A DiscordChatExporter file is one JSON object with ``guild``, ``channel`` and a ``messages`` array. When the
whole file parses, that is the answer. When it does not (a message nested deeper than the JSON parser's
recursion limit, one message's broken syntax, a truncated file), the top-level object is split by an
iterative scanner into its members and the array into its elements, and each element is parsed on its own:
good messages survive one bad neighbour. Bytes that are not UTF-8 are kept as escapes, and the messages
holding them are marked, so they can be quarantined instead of losing the file.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.core.errors import InputError
from ingest.json_depth import MAX_DEPTH, max_depth

__all__ = ["ExportDocument", "Unreadable", "read_export_file"]



@dataclass(frozen=True, slots=True)
class Unreadable:
    """One array element that could not be parsed: its text and why."""

    text: str
    reason: str


@dataclass
class ExportDocument:
    members: dict[str, Any]
    messages: list[Any]
    notes: list[str] = field(default_factory=list)
    # False when the file decoded as UTF-8 and holds no JSON escape of a lone low surrogate (\udc80-\udcff):
    # then no text in it can hold an escaped non-UTF-8 byte, and nothing needs checking message by message.
    escaped_bytes_possible: bool = True


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from exc
    return data


def _decode(path: Path, data: bytes) -> tuple[str, int | None]:
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return data.decode("utf-8", errors="surrogateescape"), exc.start


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a byte that is not UTF-8
_ESCAPED_BYTE_IN_JSON = re.compile(r"\\u[dD][cC][89a-fA-F][0-9a-fA-F]")  # the same character written as a JSON escape


def has_undecodable(value: Any) -> bool:
    """Whether any text inside ``value`` holds bytes that were not UTF-8 (kept as lone surrogates)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _ESCAPED_BYTE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def read_export_file(path: Path, *, array_key: str = "messages") -> ExportDocument:
    """The file's top-level members and the elements of its ``array_key`` array, damaged ones as Unreadable.

    Raises InputError naming the file when nothing can be read: an empty file, bytes that are not UTF-8 in
    its structure, or no JSON object at the top.
    """
    data = _read_bytes(path)
    if not data.strip():
        raise InputError(f"{path}: file is empty; export the channel again")
    text, bad_byte = _decode(path, data)
    notes = [f"not UTF-8 at byte {bad_byte}; messages holding such bytes are quarantined"] if bad_byte is not None else []
    possible = bad_byte is not None or _ESCAPED_BYTE_IN_JSON.search(text) is not None
    whole: Any = None
    parse_error: BaseException = _TooDeep()
    if max_depth(text) <= MAX_DEPTH:
        try:
            whole = json.loads(text)
        except (ValueError, RecursionError) as exc:
            parse_error = exc
    if whole is not None:
        if not isinstance(whole, dict):
            raise InputError(f"{path}: expected a JSON object with {array_key!r}, got a JSON {type(whole).__name__}")
        elements = whole.get(array_key)
        if not isinstance(elements, list):
            raise InputError(f"{path}: no {array_key!r} list in the file; is it a DiscordChatExporter JSON export?")
        return ExportDocument({k: v for k, v in whole.items() if k != array_key}, elements, notes, possible)
    try:
        members, elements, tail = _split(text, array_key)
    except _NotAnObject as exc:
        if bad_byte is not None:
            raise InputError(f"{path}: not UTF-8 at byte {bad_byte}") from exc
        raise InputError(f"{path}: not JSON ({_describe(parse_error)})") from exc
    if tail:
        notes.append(tail)
    parsed_members: dict[str, Any] = {}
    for key, span in members.items():
        try:
            parsed_members[key] = json.loads(span)
        except (ValueError, RecursionError):
            notes.append(f"top-level field {key!r} could not be read")
    if elements is None:
        raise InputError(f"{path}: no readable {array_key!r} list ({_describe(parse_error)})")
    return ExportDocument(parsed_members, [_element(span) for span in elements], notes, possible)


class _TooDeep(ValueError):
    pass


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (RecursionError, _TooDeep)):
        return f"nested deeper than {MAX_DEPTH} levels"
    return str(exc)


def _element(span: str) -> Any:
    if max_depth(span) > MAX_DEPTH:
        return Unreadable(span, f"nested deeper than {MAX_DEPTH} levels; not stored")
    try:
        return json.loads(span)
    except RecursionError:
        return Unreadable(span, f"nested deeper than {MAX_DEPTH} levels; not stored")
    except ValueError as exc:
        return Unreadable(span, f"not valid JSON ({exc})")


class _NotAnObject(ValueError):
    pass


_OPEN, _CLOSE = "{[", "}]"


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _string_end(text: str, i: int) -> int:
    """Index after the JSON string starting at ``text[i] == '"'`` (or len(text) if unterminated)."""
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            return i + 1
        i += 1
    return len(text)


def _value_end(text: str, i: int) -> int:
    """Index after the JSON value starting at ``i``, by bracket counting (no recursion, no validation)."""
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = _string_end(text, i)
            if depth == 0:
                return i
            continue
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            if depth == 0:
                return i
            depth -= 1
            if depth == 0:
                return i + 1
        elif depth == 0 and ch in ",":
            return i
        i += 1
    return len(text)


def _split(text: str, array_key: str) -> tuple[dict[str, str], list[str] | None, str]:
    """Top-level member spans, the array's element spans, and a note if the file ends early."""
    i = _skip_ws(text, 0)
    if i >= len(text) or text[i] != "{":
        raise _NotAnObject("the file does not start with a JSON object")
    i += 1
    members: dict[str, str] = {}
    elements: list[str] | None = None
    tail = ""
    while True:
        i = _skip_ws(text, i)
        if i >= len(text):
            tail = "the file ends early (truncated?); the messages read before the end are kept"
            break
        if text[i] == "}":
            break
        if text[i] == ",":
            i += 1
            continue
        if text[i] != '"':
            raise _NotAnObject(f"unexpected {text[i]!r} at character {i}")
        end = _string_end(text, i)
        try:
            key = json.loads(text[i:end])
        except ValueError as exc:
            raise _NotAnObject(f"unreadable key at character {i}") from exc
        i = _skip_ws(text, end)
        if i >= len(text) or text[i] != ":":
            raise _NotAnObject(f"expected ':' after {key!r}")
        i = _skip_ws(text, i + 1)
        if key == array_key and i < len(text) and text[i] == "[":
            elements, i, ended = _split_array(text, i)
            if not ended:
                tail = "the file ends early (truncated?); the messages read before the end are kept"
                break
            continue
        end = _value_end(text, i)
        members[key] = text[i:end]
        i = end
    return members, elements, tail


def _split_array(text: str, i: int) -> tuple[list[str], int, bool]:
    """Element spans of the array at ``text[i] == '['``; the index after it; whether it was closed."""
    i += 1
    spans: list[str] = []
    while True:
        i = _skip_ws(text, i)
        if i >= len(text):
            return spans, i, False
        if text[i] == "]":
            return spans, i + 1, True
        if text[i] == ",":
            i += 1
            continue
        end = _value_end(text, i)
        spans.append(text[i:end])
        if end >= len(text):
            return spans, end, False
        i = end
