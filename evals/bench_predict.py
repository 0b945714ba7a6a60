"""Prediction latency as the faces see it: the wired predictor service over a data directory, timed per prediction.

Each prediction reads the store afresh, builds the features (with ``text``: every stored proposal's vector, from
the vector cache or embedded now) and fits the pooled model with its walk-forward calibration choice. Run it twice
on the same data directory to see a second process find every vector cached. One run, not a timed test.

Run: ``python -m evals.bench_predict --data-dir DIR`` (after ``concord init`` and ``concord ingest sample`` there);
``CONCORD_PREDICTION__FAMILIES='[]'`` times the predictor without the text family.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from evals.bench_report import RARIBLE

__all__ = ["measure_predictions"]


def measure_predictions(data_dir: Path, proposals: list[tuple[str, str]]) -> dict[str, Any]:
    """Seconds for each of ``proposals`` ((external id, DAO slug), predicted in order by one predictor service), with
    how many texts the shared encoder found cached and how many it embedded."""
    from bots.services import build_services
    from ingest.core.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    services = build_services(settings)
    predictor = services.require("predictor")
    out: dict[str, Any] = {"families": list(predictor.families), "predictions": []}
    for external_id, dao in proposals:
        pid = int(services.store.get_proposal(external_id, dao).id)  # type: ignore[arg-type]
        started = time.perf_counter()
        result = predictor.predict(pid)
        seconds = time.perf_counter() - started
        row: dict[str, Any] = {"proposal": external_id, "dao": dao, "seconds": round(seconds, 2),
                               "p_pass": result["p_pass"] if result else None,
                               "model_id": result["model_id"] if result else None}
        if "text" in predictor.families and services.searcher is not None:
            stats = services.searcher.embedder.stats
            row |= {"texts_cached_so_far": stats.cached, "texts_embedded_so_far": stats.embedded}
        out["predictions"].append(row)
    services.store.close()
    return out


def _second_proposal(data_dir: Path) -> tuple[str, str]:
    """The demo DAO's latest proposal other than the demo's: a second, different prediction."""
    from sqlmodel import select

    from ingest.core.domain import Dao, Proposal
    from ingest.core.settings import load_settings
    from ingest.core.store import Store

    store = Store.open(load_settings(data_dir=data_dir).effective_database_url)
    with store.session() as session:
        dao = session.exec(select(Dao).where(Dao.slug == "arbitrum")).one()
        rows = session.exec(select(Proposal).where(Proposal.dao_id == dao.id, Proposal.external_id != RARIBLE)).all()
        latest = max((p for p in rows if p.start is not None), key=lambda p: p.start)  # type: ignore[arg-type, return-value]
    store.close()
    return latest.external_id, "arbitrum"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="A Concord data directory holding the sample")
    args = parser.parse_args(argv)
    print(json.dumps(measure_predictions(args.data_dir, [(RARIBLE, "arbitrum"), _second_proposal(args.data_dir)]), indent=2))


if __name__ == "__main__":
    main()
