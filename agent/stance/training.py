"""Train the MiniLM + logistic-regression stance head on real labels and save it with its manifest."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.stance.dataset import LabelledText, load_post_labels, load_vote_reasons, split_heldout
from agent.stance.trained import LogRegHead, default_model_path

__all__ = ["CV_FOLDS", "MODEL_NAME", "build_dataset", "select_head", "train_and_save"]

CV_FOLDS = 5
C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0)
LEXICAL_GRID = (0.0, 0.5, 1.0)

MODEL_NAME = "minilm-logreg-v2"


def build_dataset(data_dir: str | Path, labels_path: str | Path | None = None) -> tuple[list[LabelledText], list[LabelledText]]:
    """(train, held-out) over vote reasons from ``data_dir/votes.jsonl`` plus the hand-labelled posts."""
    items = load_vote_reasons(Path(data_dir) / "votes.jsonl") + load_post_labels(labels_path)
    return split_heldout(items)


def select_head(X: Any, labels: list[Any], texts: list[str], groups: list[str]) -> list[dict[str, float]]:
    """Mean macro-F1 of every (C, lexical weight) in the grid by cross-validation grouped by proposal/thread, on the
    texts given (the training split: the held-out texts never take part in choosing)."""
    import numpy as np
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GroupKFold

    y = np.asarray([s.value for s in labels])
    folds = list(GroupKFold(CV_FOLDS).split(X, y, groups))
    rows = []
    for weight in LEXICAL_GRID:
        for C in C_GRID:
            scores = []
            for fit_idx, val_idx in folds:
                head = LogRegHead(C=C, lexical_weight=weight).fit(X[fit_idx], [labels[i] for i in fit_idx], [texts[i] for i in fit_idx])
                predicted = [head.classes[k].value for k in head.proba(X[val_idx], [texts[i] for i in val_idx]).argmax(axis=1)]
                scores.append(f1_score(y[val_idx], predicted, average="macro"))
            rows.append({"C": C, "lexical_weight": weight, "cv_macro_f1": round(float(np.mean(scores)), 4)})
    return rows


def train_and_save(
    train: list[LabelledText], embedder: Any, *, path: str | Path | None = None, data_note: str = ""
) -> tuple[Path, dict[str, Any]]:
    """Choose C and the lexical weight by grouped cross-validation on ``train``, fit :class:`LogRegHead` on all of it,
    and write ``<path>`` (joblib) and ``<path>.json`` (manifest, with the whole grid)."""
    import joblib

    target = Path(path) if path is not None else default_model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    texts = [x.text for x in train]
    X = embedder.embed_batch(texts)
    labels = [x.label for x in train]
    grid = select_head(X, labels, texts, [x.group for x in train])
    best = max(grid, key=lambda row: row["cv_macro_f1"])
    head = LogRegHead(C=best["C"], lexical_weight=best["lexical_weight"]).fit(X, labels, texts)
    payload = {"model": head.model, "classes": [c.value for c in head.classes], "lexical_weight": head.lexical_weight, "vectorizer": head.vectorizer}
    joblib.dump(payload, target, compress=3)
    manifest = {
        "name": MODEL_NAME,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedder": getattr(embedder, "model_id", "unknown"),
        "embedder_weights_sha256": embedder.weights_sha256() if hasattr(embedder, "weights_sha256") else None,
        "head": {
            "type": "sklearn LogisticRegression",
            "C": head.C,
            "class_weight": "balanced",
            "lexical_weight": head.lexical_weight,
            "features": "MiniLM embedding" + (" + TF-IDF word 1-2-grams (min_df 2)" if head.lexical_weight else ""),
            "selected_by": f"{CV_FOLDS}-fold cross-validation grouped by proposal/thread, on the training split only",
            "grid": grid,
        },
        "n_train": len(train),
        "train_by_label": dict(Counter(x.label.value for x in train)),
        "train_by_origin": dict(Counter(x.origin for x in train)),
        "train_text_sha256": hashlib.sha256("\n".join(x.text for x in train).encode()).hexdigest(),
        "split": "held-out = groups (proposal / thread) whose sha256 bucket < 0.3; see agent/stance/dataset.py",
        "data": data_note,
        "model_file_sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
    }
    target.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return target, manifest
