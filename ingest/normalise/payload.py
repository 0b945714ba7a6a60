"""Small checked accessors for untrusted JSON payloads: errors name the missing or wrong field."""

from __future__ import annotations

from typing import Any

from ingest.core.errors import InputError

__all__ = ["clean_text", "optional_str", "require"]

MAX_TEXT_CHARS = 1_000_000


def require(payload: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(payload, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(payload).__name__}")
    if key not in payload or payload[key] is None:
        raise InputError(f"{where}: missing required field {key!r}")
    value = payload[key]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InputError(f"{where}: field {key!r} should be {expected}, got {type(value).__name__}")
    return value


def optional_str(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return None if value is None else str(value)


def clean_text(text: str, where: str) -> str:
    """Reject what cannot be stored as a post: text over the size limit or with NUL bytes removed."""
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(
            f"{where}: text is {len(text):,} characters, over the {MAX_TEXT_CHARS:,} limit; "
            "it was quarantined rather than truncated"
        )
    return text.replace("\x00", "")
