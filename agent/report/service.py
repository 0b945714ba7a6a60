"""The report service used by the CLI: build, sign, export, record; serve current reports; verify files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.report.attest import VerifyResult, content_digest, sign_report, verify_data
from agent.report.builder import ReportBuilder
from agent.report.export import write_report
from agent.report.model import ConsensusReport
from agent.report.records import record_report
from ingest.core.errors import InputError

__all__ = ["GeneratedReport", "generate_report", "load_report_file", "verify_report_file"]


@dataclass(frozen=True)
class GeneratedReport:
    report: ConsensusReport
    paths: dict[str, Path]


def generate_report(builder: ReportBuilder, proposal_id: int, *, key: str, reports_dir: Path) -> GeneratedReport:
    """Build, sign, write (JSON/Markdown/HTML) and record a fresh report of one proposal."""
    report = sign_report(builder.build(proposal_id), key)
    paths = write_report(report, reports_dir / (report.proposal.dao or "unknown"))
    record_report(builder.store, report, path=str(paths["json"]))
    return GeneratedReport(report=report, paths=paths)


def load_report_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"Cannot read report file {path}: {exc.strerror}. Pass the .json file `concord report` wrote.") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not JSON ({exc}); pass the .json export, not the Markdown or HTML one.") from exc
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("concord.report/"):
        raise InputError(f"{path} is not a Concord report (no 'schema': 'concord.report/…' field).")
    return data


def verify_report_file(path: Path, *, builder: ReportBuilder | None = None, expected_signer: str | None = None) -> VerifyResult:
    """Check hash and signature; with a ``builder`` (same store and models) re-run and compare the content."""
    data = load_report_file(path)
    result = verify_data(data, expected_signer=expected_signer)
    if builder is not None:
        fresh = builder.build(int(data["proposal"]["id"])).to_data()
        result.rerun_ok = content_digest(fresh) == content_digest(data)
        if not result.rerun_ok:
            result.rerun_differences = sorted(
                k for k in set(fresh) | set(data) if k not in {"attestation", "generated_at"} and fresh.get(k) != data.get(k)
            )
            result.problems.append("re-running with this store and model gives a different report in: " + ", ".join(result.rerun_differences))
    return result
