"""The append-only, hash-chained audit log, anchored by signed checkpoints.

Every entry stores the previous entry's hash (``prev_hash``) and its own hash (``entry_hash``),
SHA-256 over a canonical JSON of (prev_hash, created_at, actor, action, subject, payload). Other
packages record their actions through :func:`append` / :func:`append_in_session`; appends are
serialised on every backend (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL transaction-scoped advisory
lock), so two writers never chain to the same predecessor.

Checkpoints (see :mod:`governance.audit_checkpoints`) sign the head with the attestation key: an
append given a :class:`Checkpointer` writes one after every ``every`` entries, and
:func:`checkpoint` writes one on demand (``concord audit checkpoint``, and after each execution).
Each is an entry of the chain and a line of a mirror file outside the database.

What :func:`verify` detects, for someone who can write to the database but does not hold the
attestation key:

- an edited field (timestamp, actor, action, subject, payload) or hash of any entry;
- an entry deleted, inserted or re-linked anywhere before the newest entry;
- an entry edited *and every later hash recomputed*, when a checkpoint follows it: the signed
  head hash no longer matches, and deleting that checkpoint too leaves more entries between
  checkpoints than the previous one promised (``every``) or shifts the signed position of the next;
- the tail cut (newest entries deleted, with or without their checkpoints), when a checkpoint in the
  mirror file, or an ``anchor`` hash (the head hash in an executed vote's on-chain reason), refers
  to an entry that is no longer in the chain;
- checkpoints signed by another key, when the expected signer is given.

What it cannot detect:

- changes to the entries after the newest surviving checkpoint (at most ``every`` - 1 entries;
  executions checkpoint at once), cut or rewritten together with the mirror file's last lines, when
  no anchor taken earlier (an on-chain vote reason, a copied head hash) is checked;
- anything done by someone who holds the attestation key (with the default key file, whoever can
  read ``<data_dir>``): they can re-sign checkpoints;
- refusals folded into a ``refuse_summary`` whose window had not closed when the process died.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, text
from sqlmodel import Session, col, select

from governance.audit_checkpoints import CHECKPOINT_ACTION, Checkpointer, read_mirror, recover_signer
from governance.audit_refusals import SUMMARY_ACTION, Summary, current_scope
from ingest.core.domain import AuditEntry, utcnow
from ingest.core.errors import InputError
from ingest.core.store import Store

__all__ = [
    "CHECKPOINT_ACTION",
    "GENESIS_HASH",
    "AuditVerification",
    "Checkpointer",
    "append",
    "append_in_session",
    "canonical_entry_json",
    "checkpoint",
    "checkpoint_in_session",
    "entry_hash",
    "head",
    "head_hash",
    "list_entries",
    "verify",
    "write_summaries",
]

GENESIS_HASH = "0" * 64
_PG_AUDIT_LOCK = 0x636F6E636F7264  # "concord": the advisory lock key all audit writers take


@dataclass(frozen=True)
class AuditVerification:
    """Result of walking the chain: ``ok`` or the first bad entry and why."""

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None
    head_hash: str = GENESIS_HASH
    checkpoints: int = 0
    newest_checkpoint_id: int | None = None
    unanchored: int = 0
    signer: str | None = None
    anchors_found: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
            "head_hash": self.head_hash,
            "checkpoints": self.checkpoints,
            "newest_checkpoint_id": self.newest_checkpoint_id,
            "unanchored": self.unanchored,
            "signer": self.signer,
            "anchors_found": self.anchors_found,
        }


def _timestamp(value: datetime) -> str:
    """UTC ISO-8601 with microseconds (the store returns aware UTC values on every backend)."""
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


def _serialise_writers(session: Session) -> None:
    """Take the audit write lock for the rest of this transaction, on every backend."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_AUDIT_LOCK})
    elif dialect == "sqlite":
        raw = connection.connection.dbapi_connection
        # pysqlite opens a transaction only at the first write, so a plain read of the head races.
        # BEGIN IMMEDIATE takes the database's write lock now (writers queue on the busy timeout);
        # a transaction that already wrote holds that lock already.
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:  # pragma: no cover - open_engine accepts only these two
        raise InputError(f"The audit log supports sqlite and postgresql, not {dialect}.")


def _last_entry(session: Session) -> AuditEntry | None:
    return session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()


def _insert(session: Session, *, actor: str, action: str, subject: str, payload: dict[str, Any]) -> AuditEntry:
    last = _last_entry(session)
    entry = AuditEntry(
        created_at=utcnow(),
        actor=actor,
        action=action,
        subject=subject,
        payload=payload,
        prev_hash=last.entry_hash if last is not None else GENESIS_HASH,
        entry_hash="",
    )
    entry.entry_hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


def _entries_since_checkpoint(session: Session) -> int:
    last_checkpoint = session.exec(
        select(func.max(AuditEntry.id)).where(AuditEntry.action == CHECKPOINT_ACTION)
    ).one()
    query = select(func.count()).select_from(AuditEntry)
    if last_checkpoint is not None:
        query = query.where(col(AuditEntry.id) > last_checkpoint)
    return int(session.exec(query).one())


def _write_checkpoint(session: Session, checkpointer: Checkpointer, *, reason: str) -> AuditEntry:
    last = _last_entry(session)
    position = int(session.exec(select(func.count()).select_from(AuditEntry)).one())
    payload = checkpointer.sign(
        head_id=int(last.id or 0) if last is not None else 0,
        head_hash=last.entry_hash if last is not None else GENESIS_HASH,
        position=position,
    )
    entry = _insert(session, actor=checkpointer.address, action=CHECKPOINT_ACTION, subject=reason, payload=payload)
    written = (payload, int(entry.id or 0), entry.entry_hash)
    event.listen(session, "after_commit", lambda _s: checkpointer.write_mirror(written[0], entry_id=written[1], entry_hash=written[2]), once=True)
    return entry


def _summary_payload(summary: Summary) -> dict[str, Any]:
    return {"client": summary.client, "rule": summary.rule, "count": summary.count,
            "window_start": _timestamp(summary.window_start), "window_seconds": summary.window_seconds,
            "last_subject": summary.last_subject}


def _insert_then_checkpoint(session: Session, checkpointer: Checkpointer | None, **fields: Any) -> AuditEntry:
    entry = _insert(session, **fields)
    if checkpointer is not None and _entries_since_checkpoint(session) >= checkpointer.every:
        _write_checkpoint(session, checkpointer, reason="every")
    return entry


def _clean(payload: dict[str, Any] | None) -> dict[str, Any]:
    return dict(json.loads(json.dumps(payload or {}, sort_keys=True, default=str)))


def append_in_session(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str = "",
    payload: dict[str, Any] | None = None,
    checkpointer: Checkpointer | None = None,
) -> AuditEntry:
    """Append inside an open session (so an action and its audit entry commit together).

    With ``checkpointer``, a signed checkpoint follows once ``checkpointer.every`` entries were written
    since the last one. Inside :func:`governance.audit_refusals.refusals_from`, a repeated ``refuse``
    of the same client and rule is only counted: the entry returned then is not stored (its id is None).
    """
    if not actor or not action:
        raise InputError("An audit entry needs an actor and an action, e.g. actor='concord', action='draft'.")
    if action in (CHECKPOINT_ACTION, SUMMARY_ACTION):
        raise InputError(f"{action!r} entries are written by the audit log itself; use checkpoint() for a checkpoint.")
    clean_payload = _clean(payload)
    scope = current_scope() if action == "refuse" else None
    summaries: list[Summary] = []
    if scope is not None:
        write, summaries = scope.aggregator.admit(client=scope.client, rule=str(clean_payload.get("rule", "")), subject=subject)
        clean_payload["client"] = scope.client
    else:
        write = True
    if write or summaries:
        _serialise_writers(session)
    for summary in summaries:
        _insert_then_checkpoint(session, checkpointer, actor=actor, action=SUMMARY_ACTION,
                                subject=f"client:{summary.client}", payload=_summary_payload(summary))
    if not write:
        return AuditEntry(created_at=utcnow(), actor=actor, action=action, subject=subject, payload=clean_payload,
                          prev_hash="", entry_hash="")
    return _insert_then_checkpoint(session, checkpointer, actor=actor, action=action, subject=subject, payload=clean_payload)


def append(
    store: Store,
    *,
    actor: str,
    action: str,
    subject: str = "",
    payload: dict[str, Any] | None = None,
    checkpointer: Checkpointer | None = None,
) -> AuditEntry:
    """Append one entry chained to the current last one and return it.

    ``action`` is a short verb such as ``draft``, ``recommend``, ``refuse``, ``approve``, ``reject`` or
    ``execute``; ``subject`` names what it is about (``action:12``); ``payload`` is JSON-ready detail
    (a transaction hash, a report hash).
    """
    with store.session() as session:
        return append_in_session(session, actor=actor, action=action, subject=subject, payload=payload, checkpointer=checkpointer)


def write_summaries(store: Store, summaries: Iterable[Summary], *, actor: str = "concord",
                    checkpointer: Checkpointer | None = None) -> int:
    """Write refusal counts that were not written yet (a shutting-down dashboard calls this)."""
    summaries = list(summaries)
    if not summaries:
        return 0
    written = 0
    with store.session() as session:
        _serialise_writers(session)
        for summary in summaries:
            _insert_then_checkpoint(session, checkpointer, actor=actor, action=SUMMARY_ACTION,
                                    subject=f"client:{summary.client}", payload=_summary_payload(summary))
            written += 1
    return written


def checkpoint_in_session(session: Session, checkpointer: Checkpointer, *, reason: str = "manual") -> AuditEntry:
    """Sign the current head now, inside the caller's transaction (e.g. right after an ``execute`` entry)."""
    _serialise_writers(session)
    return _write_checkpoint(session, checkpointer, reason=reason)


def checkpoint(store: Store, checkpointer: Checkpointer, *, reason: str = "manual") -> AuditEntry:
    """Sign the current head now and return the checkpoint entry."""
    with store.session() as session:
        return checkpoint_in_session(session, checkpointer, reason=reason)


def head(store: Store) -> tuple[int, str]:
    """``(id, entry_hash)`` of the newest entry; ``(0, GENESIS_HASH)`` for an empty log."""
    with store.session() as session:
        last = _last_entry(session)
        return (int(last.id or 0), last.entry_hash) if last is not None else (0, GENESIS_HASH)


def head_hash(store: Store) -> str:
    """The newest entry's hash: the value to publish elsewhere (an on-chain vote reason) as an anchor."""
    return head(store)[1]


def list_entries(store: Store, *, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
    """The newest ``limit`` entries (optionally of one action), oldest first."""
    with store.session() as session:
        query = select(AuditEntry)
        if action:
            query = query.where(AuditEntry.action == action)
        rows = session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit)).all()
        return list(reversed(rows))


class _Bad(Exception):
    def __init__(self, entry_id: int | None, problem: str) -> None:
        super().__init__(problem)
        self.entry_id = entry_id
        self.problem = problem


def _check_checkpoint(entry: AuditEntry, *, previous_id: int, position: int, signer: str | None) -> dict[str, Any]:
    payload = dict(entry.payload or {})
    try:
        recovered = recover_signer(payload)
    except InputError as exc:
        raise _Bad(entry.id, f"checkpoint entry {entry.id}: {exc}") from None
    if recovered != payload.get("signer"):
        raise _Bad(entry.id, f"checkpoint entry {entry.id} is signed by {recovered}, not by its stated signer {payload.get('signer')}")
    if signer is not None and recovered.lower() != signer.lower():
        raise _Bad(entry.id, f"checkpoint entry {entry.id} is signed by {recovered}, not by the attestation key {signer}")
    if payload.get("head_hash") != entry.prev_hash or int(payload.get("head_id", -1)) != previous_id:
        raise _Bad(entry.id, f"checkpoint entry {entry.id} signed head {str(payload.get('head_hash'))[:16]}… (entry "
                             f"{payload.get('head_id')}) but follows entry {previous_id} with hash {entry.prev_hash[:16]}…: "
                             "entries before it were rewritten")
    if int(payload.get("position", -1)) != position:
        raise _Bad(entry.id, f"checkpoint entry {entry.id} signed {payload.get('position')} entries before it, "
                             f"the log has {position}: entries before it were removed or inserted")
    return payload


def _check_mirror(session: Session, mirror: Path, signer: str | None) -> None:
    try:
        rows = read_mirror(mirror)
    except InputError as exc:
        raise _Bad(None, str(exc)) from None
    for row in rows:
        try:
            recovered = recover_signer(row)
        except InputError as exc:
            raise _Bad(None, f"{mirror}: {exc}") from None
        if recovered != row.get("signer") or (signer is not None and recovered.lower() != signer.lower()):
            raise _Bad(None, f"{mirror}: a checkpoint is signed by {recovered}, not by {signer or row.get('signer')}")
        head_id = int(row.get("head_id", 0))
        signed_head = session.get(AuditEntry, head_id) if head_id else None
        stored = session.get(AuditEntry, int(row.get("entry_id", 0)))
        head_missing = head_id != 0 and (signed_head is None or signed_head.entry_hash != row.get("head_hash"))
        if head_missing or stored is None or stored.entry_hash != row.get("entry_hash"):
            raise _Bad(row.get("entry_id"), f"checkpoint entry {row.get('entry_id')} (head {str(row.get('head_hash'))[:16]}…, "
                                            f"{row.get('position')} entries) from {mirror} is not in the log: its tail was cut or rewritten")


def verify(
    store: Store,
    *,
    signer: str | None = None,
    mirror: Path | None = None,
    anchors: Iterable[str] = (),
) -> AuditVerification:
    """Walk the chain from the first entry; report the first entry whose links, hash or checkpoint do not match.

    ``signer``: the attestation key's address checkpoints must be signed by (without it, each checkpoint
    is checked against the signer it names). ``mirror``: the checkpoint mirror file to hold the chain to.
    ``anchors``: entry hashes published elsewhere (an on-chain vote reason) that must still be in the chain.
    """
    expected_prev = GENESIS_HASH
    previous_id = 0
    checked = 0
    checkpoints = 0
    newest_checkpoint: int | None = None
    promised: int | None = None  # entries the newest checkpoint allows before the next one
    since = 0
    wanted = {a.lower().removeprefix("0x") for a in anchors}
    seen: set[str] = set()
    with store.session() as session:
        total = session.exec(select(func.count()).select_from(AuditEntry)).one()
        try:
            for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))):
                if entry.prev_hash != expected_prev:
                    raise _Bad(entry.id, f"entry {entry.id} points to previous hash {entry.prev_hash[:16]}… but the entry "
                                         f"before it has hash {expected_prev[:16]}… (an entry was removed, inserted or re-linked)")
                recomputed = entry_hash(entry)
                if recomputed != entry.entry_hash:
                    raise _Bad(entry.id, f"entry {entry.id} ({entry.action} by {entry.actor}) was changed after it was written: "
                                         f"stored hash {entry.entry_hash[:16]}…, contents hash to {recomputed[:16]}…")
                if entry.action == CHECKPOINT_ACTION:
                    if promised is not None and since > promised:
                        raise _Bad(entry.id, f"{since} entries precede checkpoint entry {entry.id} but the checkpoint before it "
                                             f"(entry {newest_checkpoint}) promised one within {promised}: a checkpoint was removed")
                    payload = _check_checkpoint(entry, previous_id=previous_id, position=checked, signer=signer)
                    checkpoints += 1
                    newest_checkpoint = entry.id
                    promised = int(payload["every"])
                    since = 0
                else:
                    since += 1
                if entry.entry_hash in wanted:
                    seen.add(entry.entry_hash)
                expected_prev = entry.entry_hash
                previous_id = int(entry.id or 0)
                checked += 1
            if promised is not None and since > promised:
                raise _Bad(None, f"{since} entries follow the newest checkpoint (entry {newest_checkpoint}), which promised "
                                 f"the next within {promised}: a later checkpoint was removed")
            if mirror is not None:
                _check_mirror(session, mirror, signer)
            missing = sorted(wanted - seen)
            if missing:
                raise _Bad(None, f"anchor {missing[0][:16]}… is not in the log: the entries it anchored were cut or rewritten")
        except _Bad as bad:
            return AuditVerification(ok=False, checked=checked, first_bad_id=bad.entry_id, problem=bad.problem,
                                     head_hash=expected_prev, checkpoints=checkpoints, newest_checkpoint_id=newest_checkpoint,
                                     unanchored=since, signer=signer)
    if checked != total:  # pragma: no cover - rows appeared while walking
        return AuditVerification(ok=False, checked=checked, problem="the log changed while it was being verified")
    return AuditVerification(ok=True, checked=checked, head_hash=expected_prev, checkpoints=checkpoints,
                             newest_checkpoint_id=newest_checkpoint, unanchored=since, signer=signer,
                             anchors_found=sorted(seen))
