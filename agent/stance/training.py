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

__all__ = ["MODEL_NAME", "build_dataset", "train_and_save"]

MODEL_NAME = "minilm-logreg-v1"


def build_dataset(data_dir: str | Path, labels_path: str | Path | None = None) -> tuple[list[LabelledText], list[LabelledText]]:
    """(train, held-out) over vote reasons from ``data_dir/votes.jsonl`` plus the hand-labelled posts."""
    items = load_vote_reasons(Path(data_dir) / "votes.jsonl") + load_post_labels(labels_path)
    return split_heldout(items)


def train_and_save(
    train: list[LabelledText], embedder: Any, *, path: str | Path | None = None, data_note: str = ""
) -> tuple[Path, dict[str, Any]]:
    """Fit :class:`LogRegHead` on ``train`` and write ``<path>`` (joblib) and ``<path>.json`` (manifest)."""
    import joblib

    target = Path(path) if path is not None else default_model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    X = embedder.embed_batch([x.text for x in train])
    head = LogRegHead().fit(X, [x.label for x in train])
    joblib.dump({"model": head.model, "classes": [c.value for c in head.classes]}, target, compress=3)
    manifest = {
        "name": MODEL_NAME,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedder": getattr(embedder, "model_id", "unknown"),
        "embedder_weights_sha256": embedder.weights_sha256() if hasattr(embedder, "weights_sha256") else None,
        "head": {"type": "sklearn LogisticRegression", "C": head.C, "class_weight": "balanced"},
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
