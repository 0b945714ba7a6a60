"""Signed checkpoints of the audit log's head, and their copy outside the database.

A checkpoint says "after ``position`` entries the log's newest entry was ``head_id`` with hash
``head_hash``; the next checkpoint is due within ``every`` entries", signed (EIP-191) with the
attestation key that signs the consensus reports. It is stored twice: as an entry of the chain
itself (action ``checkpoint``) and as one JSON line in a mirror file outside the database
(``<data_dir>/audit-checkpoints.jsonl``), which is what a cut of the database's tail is checked against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ingest.core.errors import InputError
from ingest.core.settings import ConcordSettings

__all__ = [
    "CHECKPOINT_ACTION",
    "MIRROR_FILE",
    "Checkpointer",
    "checkpoint_message",
    "checkpointer_from_settings",
    "read_mirror",
    "recover_signer",
]

CHECKPOINT_ACTION = "checkpoint"
MIRROR_FILE = "audit-checkpoints.jsonl"


def checkpoint_message(*, head_id: int, head_hash: str, position: int, every: int) -> str:
    """The exact text that is signed."""
    return f"concord audit checkpoint v1\nhead_id: {head_id}\nhead_hash: {head_hash}\nposition: {position}\nevery: {every}"


def recover_signer(payload: dict[str, Any]) -> str:
    """The address whose key signed this checkpoint payload; raises InputError when it cannot be read."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    try:
        message = checkpoint_message(
            head_id=int(payload["head_id"]), head_hash=str(payload["head_hash"]),
            position=int(payload["position"]), every=int(payload["every"]),
        )
        return str(Account.recover_message(encode_defunct(text=message), signature=str(payload["signature"])))
    except Exception as exc:  # noqa: BLE001 - any unreadable checkpoint is one clear failure
        raise InputError(f"checkpoint cannot be read ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class Checkpointer:
    """Signs checkpoints with ``key`` every ``every`` entries and mirrors them to ``mirror`` (if set)."""

    key: str = field(repr=False)
    every: int = 50
    mirror: Path | None = None

    def __post_init__(self) -> None:
        if self.every < 1:
            raise InputError(f"checkpoint_every must be at least 1, got {self.every}; set CONCORD_AUDIT__CHECKPOINT_EVERY.")

    @cached_property
    def address(self) -> str:
        from eth_account import Account

        return str(Account.from_key(self.key).address)

    def sign(self, *, head_id: int, head_hash: str, position: int) -> dict[str, Any]:
        """The checkpoint payload: what is covered, the promise of the next one, signer and signature."""
        from eth_account import Account
        from eth_account.messages import encode_defunct

        message = checkpoint_message(head_id=head_id, head_hash=head_hash, position=position, every=self.every)
        signed = Account.sign_message(encode_defunct(text=message), private_key=self.key)
        return {
            "head_id": head_id,
            "head_hash": head_hash,
            "position": position,
            "every": self.every,
            "signer": self.address,
            "signature": "0x" + signed.signature.hex().removeprefix("0x"),
        }

    def write_mirror(self, payload: dict[str, Any], *, entry_id: int, entry_hash: str) -> None:
        """Append one checkpoint to the mirror file (called once the checkpoint is committed)."""
        if self.mirror is None:
            return
        self.mirror.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({**payload, "entry_id": entry_id, "entry_hash": entry_hash}, sort_keys=True)
        with self.mirror.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def checkpointer_from_settings(settings: ConcordSettings) -> Checkpointer:
    """The attestation key (``chain.attestation_key`` or ``<data_dir>/attestation.key``), ``audit.checkpoint_every``."""
    from agent.report.attest import attestation_key

    configured = settings.chain.attestation_key
    key, _ = attestation_key(configured=configured.get_secret_value() if configured else None, data_dir=settings.data_dir)
    return Checkpointer(key=key, every=settings.audit.checkpoint_every, mirror=settings.data_dir / MIRROR_FILE)


def read_mirror(path: Path) -> list[dict[str, Any]]:
    """The checkpoints in a mirror file, oldest first (a missing file is an empty list)."""
    if not path.exists():
        return []
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"{path} line {number} is not JSON: the checkpoint mirror was damaged.") from None
        if not isinstance(row, dict):
            raise InputError(f"{path} line {number} is not a checkpoint object: the checkpoint mirror was damaged.")
        rows.append(row)
    return rows
