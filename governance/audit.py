"""The append-only, hash-chained audit log.

Every entry stores the previous entry's hash (``prev_hash``) and its own hash (``entry_hash``),
SHA-256 over a canonical JSON of (prev_hash, created_at, actor, action, subject, payload). Editing,
deleting or reordering any row breaks the chain from that row on, and :func:`verify` reports the
first entry that does not add up. Other packages record their actions through :func:`append`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from ingest.domain import AuditEntry, utcnow
from ingest.errors import InputError
from ingest.store import Store

__all__ = ["GENESIS_HASH", "AuditVerification", "append", "append_in_session", "canonical_entry_json", "entry_hash", "list_entries", "verify"]

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditVerification:
    """Result of walking the chain: ``ok`` or the first bad entry and why."""

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None
    head_hash: str = GENESIS_HASH

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
            "head_hash": self.head_hash,
        }


def _timestamp(value: datetime) -> str:
    """UTC ISO-8601 with microseconds; naive values (SQLite returns them) are read as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_entry_json(
    *, prev_hash: str, created_at: datetime, actor: str, action: str, subject: str, payload: dict[str, Any]
) -> bytes:
    """The exact bytes that are hashed: sorted keys, no whitespace, UTF-8."""
    body = {
        "prev_hash": prev_hash,
        "created_at": _timestamp(created_at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "payload": payload,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: AuditEntry) -> str:
    """Recompute an entry's hash from its stored fields."""
    return hashlib.sha256(
        canonical_entry_json(
            prev_hash=entry.prev_hash,
            created_at=entry.created_at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            payload=dict(entry.payload or {}),
        )
    ).hexdigest()


def _last_entry(session: Session) -> AuditEntry | None:
    return session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()


def append_in_session(session: Session, *, actor: str, action: str, subject: str = "", payload: dict[str, Any] | None = None) -> AuditEntry:
    """Append inside an open session (so an action and its audit entry commit together)."""
    if not actor or not action:
        raise InputError("An audit entry needs an actor and an action, e.g. actor='concord', action='draft'.")
    clean_payload = json.loads(json.dumps(payload or {}, sort_keys=True, default=str))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # Serialise writers so two appends never chain to the same predecessor.
        from sqlalchemy import text

        session.exec(text("LOCK TABLE audit_entry IN EXCLUSIVE MODE"))  # type: ignore[call-overload]
    last = _last_entry(session)
    entry = AuditEntry(
        created_at=utcnow(),
        actor=actor,
        action=action,
        subject=subject,
        payload=clean_payload,
        prev_hash=last.entry_hash if last is not None else GENESIS_HASH,
        entry_hash="",
    )
    entry.entry_hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def append(store: Store, *, actor: str, action: str, subject: str = "", payload: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry chained to the current last one and return it.

    ``action`` is a short verb such as ``draft``, ``recommend``, ``refuse``, ``approve``, ``reject`` or
    ``execute``; ``subject`` names what it is about (``action:12``); ``payload`` is JSON-ready detail
    (a transaction hash, a report hash).
    """
    with store.session() as session:
        return append_in_session(session, actor=actor, action=action, subject=subject, payload=payload)


def list_entries(store: Store, *, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
    """The newest ``limit`` entries (optionally of one action), oldest first."""
    with store.session() as session:
        query = select(AuditEntry)
        if action:
            query = query.where(AuditEntry.action == action)
        rows = session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit)).all()
        return list(reversed(rows))


def verify(store: Store) -> AuditVerification:
    """Walk the chain from the first entry; report the first entry whose links or hash do not match."""
    expected_prev = GENESIS_HASH
    checked = 0
    with store.session() as session:
        total = session.exec(select(func.count()).select_from(AuditEntry)).one()
        for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))):
            if entry.prev_hash != expected_prev:
                return AuditVerification(
                    ok=False,
                    checked=checked,
                    first_bad_id=entry.id,
                    problem=f"entry {entry.id} points to previous hash {entry.prev_hash[:16]}… but the entry before it "
                    f"has hash {expected_prev[:16]}… (an entry was removed, inserted or re-linked)",
                    head_hash=expected_prev,
                )
            recomputed = entry_hash(entry)
            if recomputed != entry.entry_hash:
                return AuditVerification(
                    ok=False,
                    checked=checked,
                    first_bad_id=entry.id,
                    problem=f"entry {entry.id} ({entry.action} by {entry.actor}) was changed after it was written: "
                    f"stored hash {entry.entry_hash[:16]}…, contents hash to {recomputed[:16]}…",
                    head_hash=expected_prev,
                )
            expected_prev = entry.entry_hash
            checked += 1
    if checked != total:  # pragma: no cover - rows appeared while walking
        return AuditVerification(ok=False, checked=checked, problem="the log changed while it was being verified")
    return AuditVerification(ok=True, checked=checked, head_hash=expected_prev)


def head_hash(store: Store) -> str:
    """The newest entry's hash (the genesis hash for an empty log): what a vote's reason cites."""
    with store.session() as session:
        last = _last_entry(session)
    return last.entry_hash if last is not None else GENESIS_HASH
