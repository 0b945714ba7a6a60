"""Attestation: the report's SHA-256 over canonical JSON, signed (EIP-191) by a key that is not a treasury key."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.report.model import Attestation, ConsensusReport
from ingest.core.errors import ConfigError, InputError

__all__ = [
    "VerifyResult",
    "attestation_key",
    "canonical_json",
    "content_digest",
    "report_sha256",
    "sign_report",
    "verify_data",
]

KEY_FILE = "attestation.key"


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes that are hashed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def report_sha256(data: dict[str, Any]) -> str:
    """SHA-256 of the report's JSON without its ``attestation`` section."""
    return hashlib.sha256(canonical_json({k: v for k, v in data.items() if k != "attestation"})).hexdigest()


def content_digest(data: dict[str, Any]) -> str:
    """SHA-256 of what a re-run must reproduce: the report without ``attestation`` and ``generated_at``."""
    return hashlib.sha256(
        canonical_json({k: v for k, v in data.items() if k not in {"attestation", "generated_at"}})
    ).hexdigest()


def attestation_key(*, configured: str | None, data_dir: Path) -> tuple[str, bool]:
    """The signing key: ``chain.attestation_key`` if set, else ``<data_dir>/attestation.key`` (created when missing).

    Returns ``(hex key, created_now)``. This key only signs reports; it must never hold funds or be a Safe owner.
    """
    if configured:
        return configured, False
    path = data_dir / KEY_FILE
    if path.exists():
        key = path.read_text().strip()
        if not key:
            raise ConfigError(f"{path} is empty; delete it to generate a new attestation key or set CONCORD_CHAIN__ATTESTATION_KEY.")
        return key, False
    from eth_account import Account

    data_dir.mkdir(parents=True, exist_ok=True)
    key = Account.create().key.hex()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key, True


def sign_report(report: ConsensusReport, key: str) -> ConsensusReport:
    """Set ``report.attestation``: SHA-256 of the report and its EIP-191 signature of that hex digest."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    report.attestation = None
    digest = report_sha256(report.to_data())
    signed = Account.sign_message(encode_defunct(text=digest), private_key=key)
    account = Account.from_key(key)
    report.attestation = Attestation(sha256=digest, signer=account.address, signature="0x" + signed.signature.hex().removeprefix("0x"))
    return report


@dataclass
class VerifyResult:
    """What ``concord report verify`` found; ``ok`` only when every check that ran passed."""

    hash_ok: bool
    signature_ok: bool
    signer: str | None
    recomputed_sha256: str
    rerun_ok: bool | None = None
    rerun_differences: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.hash_ok and self.signature_ok and self.rerun_ok is not False


def verify_data(data: dict[str, Any], *, expected_signer: str | None = None) -> VerifyResult:
    """Check the report's hash and that its signature recovers to its stated signer (and ``expected_signer``)."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    attestation = data.get("attestation")
    if not isinstance(attestation, dict):
        raise InputError("The report has no attestation section; it was not signed. Regenerate it with `concord report`.")
    recomputed = report_sha256(data)
    result = VerifyResult(hash_ok=recomputed == attestation.get("sha256"), signature_ok=False, signer=attestation.get("signer"),
                          recomputed_sha256=recomputed)
    if not result.hash_ok:
        result.problems.append(f"content hash {recomputed} differs from the attested {attestation.get('sha256')}: the report was changed")
    try:
        recovered = Account.recover_message(encode_defunct(text=str(attestation.get("sha256"))), signature=attestation.get("signature"))
    except Exception as exc:  # noqa: BLE001 - any malformed signature is a failed check, reported as such
        result.problems.append(f"signature cannot be decoded: {exc}")
        return result
    result.signature_ok = recovered == attestation.get("signer") and (expected_signer is None or recovered.lower() == expected_signer.lower())
    if not result.signature_ok:
        result.problems.append(f"signature recovers to {recovered}, not to {expected_signer or attestation.get('signer')}")
    return result
