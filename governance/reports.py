"""The minimal consensus-report input governance needs, and how a report's current hash is recomputed.

Integration point with ``agent/report``: a report is a JSON document; its identity is
SHA-256 over its canonical JSON (sorted keys, no whitespace, UTF-8) without the ``attestation``
section — the same definition as ``agent.report.attest.report_sha256`` (a test checks they agree).
Governance keeps only the report id and that hash; before each signature and before execution it
re-reads the stored JSON through a :class:`ReportSource` and refuses if the hash changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ingest.core.errors import InputError, NotFoundError

__all__ = [
    "SUPPORT",
    "CombinedReportSource",
    "DirectoryReportSource",
    "ReportRef",
    "ReportSource",
    "StanceCount",
    "StoreReportSource",
    "count_people",
    "real_prediction",
    "recommendation_from_report",
    "report_sha256",
    "report_sha256_of_bytes",
]

#: GovernorCountingSimple's support values.
SUPPORT = {"against": 0, "for": 1, "abstain": 2}


def report_sha256(data: dict[str, Any]) -> str:
    """SHA-256 of a report's canonical JSON without its ``attestation`` section."""
    body = {k: v for k, v in data.items() if k != "attestation"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")).hexdigest()


def report_sha256_of_bytes(raw: bytes, *, where: str = "report") -> str:
    """Parse stored report JSON bytes and return :func:`report_sha256` of them."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{where} is not valid JSON ({exc}); regenerate it with `concord report`.") from exc
    if not isinstance(data, dict):
        raise InputError(f"{where} must hold a JSON object, found {type(data).__name__}.")
    return report_sha256(data)


@dataclass(frozen=True)
class ReportRef:
    """What an advisory vote is based on: a report (by id and hash) and its recommended choice.

    ``reason`` is Concord's own fixed-template account of the numbers (people per side, the prediction);
    it is never model or forum text and never goes on chain (the on-chain reason is a template of the
    report's hash and link). ``prediction_missing`` says why there is no real prediction: then the
    confidence is meaningless and the policy files no recommendation.
    """

    report_id: str
    report_sha256: str
    dao: str
    proposal_ref: str
    choice: str
    confidence: float
    reason: str
    proposal_kind: str = "governor"
    prediction_missing: str | None = None

    def __post_init__(self) -> None:
        if self.choice not in SUPPORT:
            raise InputError(f"Unknown choice {self.choice!r}: use one of {', '.join(SUPPORT)}.")
        if not 0.0 <= self.confidence <= 1.0:
            raise InputError(f"Confidence must be between 0 and 1, got {self.confidence}.")
        if len(self.report_sha256) != 64:
            raise InputError("report_sha256 must be the 64-character hex SHA-256 of the report JSON.")

    @property
    def support(self) -> int:
        """The Governor's support value for the choice."""
        return SUPPORT[self.choice]


@dataclass(frozen=True)
class StanceCount:
    """How many people (not posts) are for and against, and the voting power linked to each side."""

    people_for: int
    people_against: int
    people_neutral: int
    power_for: float = 0.0
    power_against: float = 0.0
    unattributed_posts: int = 0

    @property
    def choice(self) -> str:
        """The side more people take; a tie (or nobody) abstains."""
        pro, con = self.people_for, self.people_against
        return "for" if pro > con else "against" if con > pro else "abstain"


def count_people(
    by_post: list[dict[str, Any]], *, author_of: Mapping[int, str], power_of: Mapping[str, float] | None = None,
    threshold: float = 0.0,
) -> StanceCount:
    """One person, one voice: each author's posts give one stance (their most frequent label; a tie is neutral).

    ``author_of`` maps a post id to its author; posts without a known author are not counted (a pile of
    anonymous posts is no crowd). ``power_of`` gives the voting power of authors linked to an address.
    Posts of the proposer side (``"proposer": true``) and posts set aside as instruction-like text
    (``"set_aside": true``) are never counted, and a label whose confidence is below
    ``threshold`` counts as neutral (uncertain), never as support or opposition.
    """
    labels: dict[str, Counter[str]] = {}
    unattributed = 0
    for entry in by_post:
        if entry.get("proposer") or entry.get("set_aside"):
            continue
        if float(entry.get("confidence", 1.0)) < threshold:
            entry = {**entry, "label": "neutral"}
        author = author_of.get(int(entry.get("post_id", -1)))
        if author is None:
            unattributed += 1
            continue
        labels.setdefault(author, Counter())[str(entry.get("label", "neutral"))] += 1
    stance: dict[str, str] = {}
    for author, counter in labels.items():
        ranked = counter.most_common()
        stance[author] = "neutral" if len(ranked) > 1 and ranked[0][1] == ranked[1][1] else ranked[0][0]
    power = power_of or {}
    sides = Counter(stance.values())
    return StanceCount(
        people_for=sides.get("for", 0),
        people_against=sides.get("against", 0),
        people_neutral=sum(n for label, n in sides.items() if label not in ("for", "against")),
        power_for=sum(power.get(a, 0.0) for a, s in stance.items() if s == "for"),
        power_against=sum(power.get(a, 0.0) for a, s in stance.items() if s == "against"),
        unattributed_posts=unattributed,
    )


_TRAINED_ON = re.compile(r"trained on (\d+) closed proposals?")


def real_prediction(data: dict[str, Any]) -> tuple[float | None, str | None]:
    """The report's pass probability if it comes from a model trained on closed proposals, else why not.

    A base-rate fallback (or a model trained on no closed proposal) is not a prediction: it gives
    ``(None, reason)`` and never becomes a recommendation's confidence.
    """
    prediction = data.get("prediction") or {}
    p_pass = prediction.get("probability_pass")
    if p_pass is None:
        return None, str(data.get("prediction_missing") or "the report has no outcome prediction")
    model = str(prediction.get("model") or "")
    method = str(prediction.get("method") or "")
    trained = _TRAINED_ON.search(model)
    n_train = prediction.get("n_train", int(trained.group(1)) if trained else None)
    if any(tag in text for text in (method, model) for tag in ("base-rate", "base_rate")):
        return None, f"the prediction is a base-rate fallback ({model or method}), not a model's"
    if n_train is not None and int(n_train) <= 0:
        return None, f"the prediction model was trained on no closed proposal ({model})"
    return float(p_pass), None


def recommendation_from_report(
    data: dict[str, Any],
    *,
    report_id: str,
    author_of: Mapping[int, str] | None = None,
    power_of: Mapping[str, float] | None = None,
) -> ReportRef:
    """Read a consensus report (``agent.report`` schema) into a recommendation.

    The choice follows the people of the discussion (one person, one voice: :func:`count_people`, with
    ``author_of`` from the store, else each ``by_post`` entry's own ``author``); a tie abstains. The confidence is
    the outcome model's probability for that side, only when :func:`real_prediction` says the report has
    one; otherwise ``prediction_missing`` is set and the policy refuses. The reason is a fixed template of
    these numbers.
    """
    proposal = data.get("proposal") or {}
    by_post = list((data.get("stance") or {}).get("by_post") or [])
    authors = {int(e["post_id"]): str(e["author"]) for e in by_post if e.get("author") and "post_id" in e}
    authors.update(author_of or {})
    threshold = float((data.get("stance_mix") or {}).get("threshold") or 0.0)
    people = count_people(by_post, author_of=authors, power_of=power_of, threshold=threshold)
    choice = people.choice
    p_pass, missing = real_prediction(data)
    if p_pass is None:
        confidence = 0.0
    else:
        confidence = p_pass if choice == "for" else 1.0 - p_pass if choice == "against" else 1.0 - abs(2 * p_pass - 1)
    reason = f"Discussion: {people.people_for} people for, {people.people_against} against, {people.people_neutral} neutral"
    if people.power_for or people.power_against:
        reason += f" (linked voting power {people.power_for:g} for, {people.power_against:g} against)"
    reason += f"; predicted pass probability {p_pass:.2f}." if p_pass is not None else "; no outcome prediction."
    origin = str(proposal.get("origin") or "governor")
    return ReportRef(
        report_id=report_id,
        report_sha256=report_sha256(data),
        dao=str(proposal.get("dao") or ""),
        proposal_ref=str(proposal.get("external_id") or ""),
        choice=choice,
        confidence=round(min(max(confidence, 0.0), 1.0), 4),
        reason=reason,
        proposal_kind=origin,
        prediction_missing=missing,
    )


@runtime_checkable
class ReportSource(Protocol):
    """Gives back a stored report's JSON, from which its current hash is recomputed."""

    def read_report(self, report_id: str) -> dict[str, Any]: ...

    def current_sha256(self, report_id: str) -> str: ...


@dataclass(frozen=True)
class DirectoryReportSource:
    """Reports stored as ``<directory>/<report_id>.json`` (what ``concord report`` exports)."""

    directory: Path

    def _path(self, report_id: str) -> Path:
        if "/" in report_id or "\\" in report_id or report_id.startswith("."):
            raise InputError(f"Bad report id {report_id!r}: ids are file names without folders.")
        return Path(self.directory) / f"{report_id}.json"

    def read_report(self, report_id: str) -> dict[str, Any]:
        """The parsed report."""
        path = self._path(report_id)
        try:
            return dict(json.loads(path.read_bytes()))
        except FileNotFoundError as exc:
            raise NotFoundError(f"No report {report_id!r} at {path}. Generate it with `concord report` first.") from exc

    def current_sha256(self, report_id: str) -> str:
        """The hash of the report file as it is now."""
        path = self._path(report_id)
        try:
            return report_sha256_of_bytes(path.read_bytes(), where=str(path))
        except FileNotFoundError as exc:
            raise NotFoundError(f"No report {report_id!r} at {path}. Generate it with `concord report` first.") from exc


class StoreReportSource:
    """Reports recorded in the store's ``report_record`` table; ``path`` points at the JSON export."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def _path(self, report_id: str) -> Path:
        from ingest.core.domain import ReportRecord

        if not report_id.isdigit():
            raise InputError(f"Report ids in the store are numbers; got {report_id!r}.")
        with self._store.session() as session:
            record = session.get(ReportRecord, int(report_id))
        if record is None or not record.path:
            raise NotFoundError(f"No stored report {report_id} with a JSON export. Generate it with `concord report`.")
        return Path(record.path)

    def read_report(self, report_id: str) -> dict[str, Any]:
        """The parsed JSON export of the stored report."""
        return dict(json.loads(self._path(report_id).read_bytes()))

    def current_sha256(self, report_id: str) -> str:
        """The hash of the JSON export as it is now."""
        path = self._path(report_id)
        return report_sha256_of_bytes(path.read_bytes(), where=str(path))


class CombinedReportSource:
    """Numeric ids are stored reports (``report_record``); other ids are files in ``directory``."""

    def __init__(self, store: Any, directory: Path) -> None:
        self._stored = StoreReportSource(store)
        self._files = DirectoryReportSource(Path(directory))

    def _pick(self, report_id: str) -> ReportSource:
        return self._stored if report_id.isdigit() else self._files

    def read_report(self, report_id: str) -> dict[str, Any]:
        """The parsed report."""
        return self._pick(report_id).read_report(report_id)

    def current_sha256(self, report_id: str) -> str:
        """The hash of the report as stored now."""
        return self._pick(report_id).current_sha256(report_id)
