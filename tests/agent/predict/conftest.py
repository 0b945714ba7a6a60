"""Small governance directories in the shared data format, written per test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

DAY = 86_400
T0 = 1_600_000_000  # 2020-09-13


def write_dir(root: Path, proposals: list[dict[str, Any]], **files: list[dict[str, Any]]) -> Path:
    """Write ``proposals.jsonl`` (and any other ``name=[rows]`` as ``name.jsonl``) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, rows in {"proposals": proposals, **files}.items():
        with (root / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
    return root


def synthetic_proposals(n: int = 90, *, flip_from: float | None = None) -> list[dict[str, Any]]:
    """``n`` proposals, one every 3 days, each voting for 5 days (so votes overlap). Proposer ``good`` usually passes,
    ``bad`` usually fails. With ``flip_from``, every proposal that closes at or after that time has its outcome and
    scores flipped: the label changes, nothing known before that time does."""
    rows = []
    for i in range(n):
        author = ["good", "bad", "mixed"][i % 3]
        passed = {"good": i % 7 != 0, "bad": i % 5 == 0, "mixed": i % 2 == 0}[author]
        start, end = T0 + i * 3 * DAY, T0 + i * 3 * DAY + 5 * DAY
        if flip_from is not None and end >= flip_from:
            passed = not passed
        scores = [700.0, 300.0, 0.0] if passed else [200.0, 800.0, 0.0]
        rows.append(
            {
                "dao": "testdao",
                "platform": "snapshot (test)",
                "id": f"p{i}",
                "title": f"Proposal {i}",
                "body": "text " * (i % 11 + 1),
                "author": author,
                "created": start,
                "start": start,
                "end": end,
                "choices": ["For", "Against", "Abstain"],
                "scores": scores,
                "outcome": "passed" if passed else "failed",
            }
        )
    return rows


@pytest.fixture
def make_dir(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1000))

    def make(proposals: list[dict[str, Any]], **files: list[dict[str, Any]]) -> Path:
        return write_dir(tmp_path / f"data{next(counter)}", proposals, **files)

    return make
