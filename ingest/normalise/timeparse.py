"""Parsing the many time formats APIs use into aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.core.errors import InputError

__all__ = ["parse_time"]


def parse_time(value: object, field: str = "time") -> datetime | None:
    """ISO 8601 strings (with or without zone, 'Z' allowed) or Unix seconds; None stays None."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise InputError(f"{field}: expected a timestamp, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise InputError(f"{field}: {value!r} is outside the representable time range") from exc
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(f"{field}: {value!r} is not an ISO 8601 time or Unix timestamp") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise InputError(f"{field}: expected a timestamp, got {type(value).__name__}")
