"""Export the labelled argument units WITHOUT their labels, for an independent (blind) second labelling pass.

Each row carries what a labeller needs and nothing the first pass decided: the unit's id, its thread's topic id and
title, the thread's opening poster, the unit's author and post number, the sentence itself, and the sentences just
before and after it in the same post. The first pass's ``type`` (and its ``role`` and ``labeller`` columns) are never
read: only ``id``, ``thread``, ``author`` and ``text`` are taken from ``unit_labels.jsonl``.

    python -m evals.unit_blind_export            # writes evals/data/unit_blind_export.jsonl
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["BLIND_EXPORT", "export_blind_units"]

DATA = Path(__file__).resolve().parent / "data"
BLIND_EXPORT = DATA / "unit_blind_export.jsonl"
_KEPT = ("id", "thread", "author", "text")


def _unlabelled_units(path: Path) -> list[dict[str, str]]:
    """The labelled units' identifying columns only (never the label)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{k: str(row[k]) for k in _KEPT} for row in rows]


def export_blind_units(labels: Path = DATA / "unit_labels.jsonl", out: Path = BLIND_EXPORT) -> dict[str, Any]:
    from agent.camps.units import split_units
    from agent.report.inputs import load_inputs
    from evals.report_eval import report_threads
    from evals.retrieval.corpus import sample_store

    wanted = _unlabelled_units(labels)
    with tempfile.TemporaryDirectory() as tmp:
        store = sample_store(Path(tmp) / "sample.db")
        context: dict[tuple[str, str, str], dict[str, Any]] = {}
        for pid, topic in report_threads(store):
            inputs = load_inputs(store, pid)
            posts = inputs.source_posts()
            numbers = {int(p.id): p.number for p in inputs.posts}  # type: ignore[arg-type]
            opener = posts[0].author if posts else ""
            title = inputs.threads[0].title if inputs.threads else ""
            units = split_units(posts)
            for i, unit in enumerate(units):
                same = [u for u in units if u.post_id == unit.post_id]
                k = same.index(unit)
                context.setdefault((topic, unit.author, unit.text), {
                    "thread_title": title, "opening_poster": opener, "post_number": numbers.get(unit.post_id),
                    "before": same[k - 1].text if k > 0 else "", "after": same[k + 1].text if k + 1 < len(same) else ""})
        store.close()
    rows, missing = [], []
    for unit in wanted:
        found = context.get((unit["thread"], unit["author"], unit["text"]))
        if found is None:
            missing.append(unit["id"])
            found = {"thread_title": "", "opening_poster": "", "post_number": None, "before": "", "after": ""}
        rows.append({"id": unit["id"], "thread": unit["thread"], **{k: found[k] for k in ("thread_title", "opening_poster")},
                     "author": unit["author"], "post_number": found["post_number"], "before": found["before"],
                     "text": unit["text"], "after": found["after"]})
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return {"exported": len(rows), "without_context": missing, "file": str(out)}


if __name__ == "__main__":
    print(json.dumps(export_blind_units(), indent=2))
