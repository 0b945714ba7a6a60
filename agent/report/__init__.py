"""Consensus reports: cited, faithfulness-checked, stale-aware, exported as JSON/Markdown/HTML, signed (EIP-191)."""

from agent.report.attest import (
    VerifyResult,
    attestation_key,
    content_digest,
    report_sha256,
    sign_report,
    verify_data,
)
from agent.report.builder import SUMMARY_SYSTEM_PROMPT, Predictor, ReportBuilder, ReportParams
from agent.report.export import to_html, to_json, to_markdown, write_report
from agent.report.faithfulness import check_citations, strip_unsupported_quotes
from agent.report.inputs import ReportInputs, inputs_hash, load_inputs
from agent.report.model import SCHEMA_VERSION, Citation, ConsensusReport, PredictionReport
from agent.report.records import ReportStatus, record_report, report_status
from agent.report.service import GeneratedReport, generate_report, load_report_file, verify_report_file

__all__ = [
    "SCHEMA_VERSION",
    "SUMMARY_SYSTEM_PROMPT",
    "Citation",
    "ConsensusReport",
    "GeneratedReport",
    "PredictionReport",
    "Predictor",
    "ReportBuilder",
    "ReportInputs",
    "ReportParams",
    "ReportStatus",
    "VerifyResult",
    "attestation_key",
    "check_citations",
    "content_digest",
    "generate_report",
    "inputs_hash",
    "load_inputs",
    "load_report_file",
    "record_report",
    "report_sha256",
    "report_status",
    "sign_report",
    "strip_unsupported_quotes",
    "to_html",
    "to_json",
    "to_markdown",
    "verify_data",
    "verify_report_file",
    "write_report",
]
