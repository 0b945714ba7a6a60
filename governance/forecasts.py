"""Forecasts committed before a proposal's vote opens, signed and audited, and scored once its outcome is known.

A committed forecast is a promise made in public: P(pass) and vote shares, the model and the inputs it came from
(as hashes), the time of commitment and the time voting opens, hashed over canonical JSON and signed (EIP-191)
with the report attestation key. The commitment goes into the append-only audit log in the same transaction, and
``statement`` is one line to publish (forum, chat) that carries the hash, so anyone can check later that the
forecast was not changed after the fact.

Rules: a forecast is refused once voting has started (or when the start is unknown); one forecast per proposal
(a second commit is refused, so no one can keep the lucky one); scoring only fills in the outcome of a forecast
whose proposal has passed or failed, and the track record reads committed forecasts only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from agent.predict.metrics import accuracy, brier, ece, log_loss
from agent.predict.pooled import predict_store
from agent.predict.service import Prediction
from agent.report.attest import canonical_json
from governance.audit import Checkpointer, append_in_session
from governance.errors import GovernanceRefusal, Rule
from ingest.core.domain import Dao, ForecastRecord, Proposal, utcnow
from ingest.core.errors import InputError
from ingest.core.store import Store

__all__ = [
    "FORECAST_SCHEMA",
    "ForecastScore",
    "TrackRecord",
    "commit_forecast",
    "forecast_digest",
    "score_forecasts",
    "track_record",
    "verify_forecast",
]

FORECAST_SCHEMA = "concord-forecast-v1"
Predictor = Callable[[Store, Proposal], Prediction]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def forecast_digest(body: dict[str, Any]) -> str:
    """SHA-256 (hex) of the forecast body's canonical JSON: the hash that is signed and published."""
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _model_hash(prediction: Prediction) -> str:
    return hashlib.sha256(canonical_json({"model_id": prediction.model_id, "method": prediction.method,
                                          "families": list(prediction.families),
                                          "features": sorted(prediction.features)})).hexdigest()


def _inputs_hash(proposal: Proposal, prediction: Prediction) -> str:
    """What the forecast was computed from: the proposal's stored content, the feature families read and the
    features they gave."""
    return hashlib.sha256(canonical_json({
        "proposal_content_hash": proposal.content_hash,
        "families": list(prediction.families),
        "features": {k: round(v, 9) for k, v in sorted(prediction.features.items())},
        "n_train": prediction.n_train,
        "trained_until": prediction.trained_until,
    })).hexdigest()


def commit_forecast(
    store: Store,
    proposal: Proposal,
    *,
    key: str,
    now: datetime | None = None,
    predictor: Predictor | None = None,
    actor: str = "concord",
    checkpointer: Checkpointer | None = None,
) -> ForecastRecord:
    """Predict ``proposal``, sign the forecast, store it and append ``forecast-commit`` to the audit log.

    Refused (``GovernanceRefusal``) when voting has started at ``now`` or its start is unknown, and when the
    proposal already has a committed forecast.
    """
    from eth_account import Account
    from eth_account.messages import encode_defunct

    moment = now or utcnow()
    if proposal.start is None:
        raise GovernanceRefusal(Rule.FORECAST_BEFORE_VOTE, f"proposal {proposal.id} has no voting start time, so a forecast "
                                "cannot be shown to precede the vote; ingest its start first")
    starts = proposal.start
    if moment >= starts:
        raise GovernanceRefusal(Rule.FORECAST_BEFORE_VOTE, f"voting on proposal {proposal.id} started at {_iso(starts)}; "
                                f"a forecast committed at {_iso(moment)} would not be a forecast")
    with store.session() as session:
        if session.exec(select(ForecastRecord).where(ForecastRecord.proposal_id == proposal.id)).first() is not None:
            raise GovernanceRefusal(Rule.ONE_FORECAST_PER_PROPOSAL, f"proposal {proposal.id} already has a committed "
                                    "forecast; committed forecasts are never replaced")
        dao = session.get(Dao, proposal.dao_id)
        if dao is None:
            raise InputError(f"Proposal {proposal.id} points at DAO id {proposal.dao_id}, which is not in the store")
        slug = dao.slug
    prediction = (predictor or (lambda s, p: predict_store(s, p)))(store, proposal)
    body = {
        "schema": FORECAST_SCHEMA,
        "dao": slug,
        "proposal": proposal.external_id,
        "title": proposal.title[:200],
        "committed_at": _iso(moment),
        "voting_starts_at": _iso(starts),
        "p_pass": round(prediction.p_pass, 4),
        "interval": [round(prediction.low, 4), round(prediction.high, 4)],
        "shares": {k: round(v, 4) for k, v in prediction.vote_share.items()} if prediction.vote_share else None,
        "model_id": prediction.model_id,
        "model_hash": _model_hash(prediction),
        "inputs_hash": _inputs_hash(proposal, prediction),
    }
    digest = forecast_digest(body)
    account = Account.from_key(key)
    signature = "0x" + Account.sign_message(encode_defunct(text=digest), private_key=key).signature.hex().removeprefix("0x")
    statement = (f"Concord forecast {slug}/{proposal.external_id}: P(pass) {body['p_pass']:.2f} "
                 f"committed {body['committed_at']}, before voting opens {body['voting_starts_at']}; "
                 f"sha256 {digest}, signed by {account.address}")
    with store.session() as session:
        entry = append_in_session(session, checkpointer=checkpointer, actor=actor, action="forecast-commit", subject=f"proposal:{proposal.id}",
                                  payload={"forecast_sha256": digest, "signer": account.address, "p_pass": body["p_pass"]})
        record = ForecastRecord(
            proposal_id=int(proposal.id),  # type: ignore[arg-type]
            dao_id=proposal.dao_id,
            committed_at=moment,
            voting_starts_at=starts,
            p_pass=body["p_pass"],
            shares=body["shares"],
            model_hash=body["model_hash"],
            inputs_hash=body["inputs_hash"],
            body=body,
            forecast_sha256=digest,
            signer=account.address,
            signature=signature,
            statement=statement,
            audit_entry_id=entry.id,
        )
        session.add(record)
        session.commit()
        session.refresh(record)
        return record


def verify_forecast(record: ForecastRecord) -> list[str]:
    """Problems with a stored forecast (empty when its hash matches its body and the signature its signer)."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    problems = []
    digest = forecast_digest(record.body)
    if digest != record.forecast_sha256:
        problems.append(f"body hashes to {digest}, not the committed {record.forecast_sha256}: it was changed")
    if record.body.get("p_pass") != record.p_pass:
        problems.append("p_pass differs from the committed body")
    try:
        signer = Account.recover_message(encode_defunct(text=record.forecast_sha256), signature=record.signature)
    except Exception as exc:  # noqa: BLE001 - a malformed signature is a failed check
        return [*problems, f"signature cannot be decoded: {exc}"]
    if signer != record.signer:
        problems.append(f"signature recovers to {signer}, not {record.signer}")
    return problems


@dataclass(frozen=True)
class ForecastScore:
    """One scored forecast: the committed probability against the outcome."""

    proposal: str
    p_pass: float
    outcome: str
    brier: float


def score_forecasts(store: Store, *, dao: str | None = None, actor: str = "concord",
                    checkpointer: Checkpointer | None = None) -> list[ForecastScore]:
    """Fill in the outcome of every unscored committed forecast whose proposal has passed or failed (audited)."""
    scored: list[ForecastScore] = []
    with store.session() as session:
        query = select(ForecastRecord, Proposal).join(Proposal, col(Proposal.id) == ForecastRecord.proposal_id)
        query = query.where(col(ForecastRecord.outcome).is_(None), col(Proposal.outcome).in_(["passed", "failed"]))
        if dao is not None:
            query = query.join(Dao, col(Dao.id) == ForecastRecord.dao_id).where(Dao.slug == dao)
        for record, proposal in session.exec(query).all():
            problems = verify_forecast(record)
            if problems:
                raise InputError(f"Forecast for proposal {proposal.id} fails its check ({problems[0]}); it is not scored")
            record.outcome, record.scored_at = proposal.outcome, utcnow()
            score = ForecastScore(proposal.external_id, record.p_pass, str(proposal.outcome),
                                  brier([record.p_pass], [int(proposal.outcome == "passed")]))
            append_in_session(session, checkpointer=checkpointer, actor=actor, action="forecast-score", subject=f"proposal:{proposal.id}",
                              payload={"forecast_sha256": record.forecast_sha256, "outcome": proposal.outcome,
                                       "brier": round(score.brier, 6)})
            session.add(record)
            scored.append(score)
        session.commit()
    return scored


@dataclass(frozen=True)
class TrackRecord:
    """Scores over committed, scored forecasts only (never a re-scored hindsight prediction)."""

    dao: str
    committed: int
    scored: int
    brier: float | None
    log_loss: float | None
    accuracy: float | None
    ece: float | None
    reliability: list[dict[str, float]]
    forecasts: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dao": self.dao, "committed": self.committed, "scored": self.scored, "brier": self.brier,
            "log_loss": self.log_loss, "accuracy": self.accuracy, "ece": self.ece, "reliability": self.reliability,
            "forecasts": self.forecasts,
        }


def _reliability(p: list[float], y: list[int], bins: int = 10) -> list[dict[str, float]]:
    out = []
    for b in range(bins):
        idx = [i for i, v in enumerate(p) if b / bins <= v < (b + 1) / bins or (b == bins - 1 and v >= 1.0)]
        if idx:
            out.append({"mean_predicted": sum(p[i] for i in idx) / len(idx),
                        "observed": sum(y[i] for i in idx) / len(idx), "n": len(idx)})
    return out


def track_record(store: Store, dao: str) -> TrackRecord:
    """Brier, log loss, accuracy, ECE and reliability bins over ``dao``'s committed forecasts that have been scored."""
    dao_row = store.get_dao(dao)
    with store.session() as session:
        rows = session.exec(
            select(ForecastRecord, Proposal)
            .join(Proposal, col(Proposal.id) == ForecastRecord.proposal_id)
            .where(ForecastRecord.dao_id == dao_row.id)
            .order_by(col(ForecastRecord.committed_at))
        ).all()
    listed = [{"proposal": proposal.external_id, "title": proposal.title[:120], "p_pass": record.p_pass,
               "committed_at": _iso(record.committed_at), "voting_starts_at": _iso(record.voting_starts_at),
               "outcome": record.outcome, "forecast_sha256": record.forecast_sha256, "statement": record.statement}
              for record, proposal in rows]
    done = [(r.p_pass, int(r.outcome == "passed")) for r, _ in rows if r.outcome in ("passed", "failed")]
    p, y = [a for a, _ in done], [b for _, b in done]
    return TrackRecord(
        dao=dao, committed=len(rows), scored=len(done),
        brier=brier(p, y) if done else None, log_loss=log_loss(p, y) if done else None,
        accuracy=accuracy(p, y) if done else None, ece=ece(p, y) if done else None,
        reliability=_reliability(p, y), forecasts=listed,
    )

