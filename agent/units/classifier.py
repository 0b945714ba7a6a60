"""The unit-type classifier: MiniLM sentence vectors next to TF-IDF word uni/bigrams, class-weighted logistic
regression, trained on ``evals/data/unit_labels.jsonl`` (see ``evals/units.py``). The head is a small joblib file."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.units.types import UnitType, UnitTypeResult
from ingest.core.errors import ConfigError

__all__ = ["UnitTypeClassifier", "default_unit_model_path", "load_unit_classifier", "train_unit_classifier"]

_MODEL_FILE = "unit_types.joblib"


def default_unit_model_path() -> Path:
    """``agent/units/models/unit_types.joblib``."""
    return Path(__file__).resolve().parent / "models" / _MODEL_FILE


def _lexical(text: str) -> str:
    """The text lower-cased with markers the word features can see: a question mark, a conditional, a request."""
    marks = []
    if text.rstrip().endswith("?"):
        marks.append("__qmark__")
    if re.search(r"\b(would like|should|suggest|please|need to|instead|rather than|it would be (great|nice|helpful))\b", text, re.IGNORECASE):
        marks.append("__ask__")
    return text.lower() + " " + " ".join(marks)


class UnitTypeClassifier:
    """Types sentences; ``C`` and ``lexical_weight`` shape the logistic regression over [embedding | words]."""

    def __init__(self, embedder: Any, *, C: float = 2.0, lexical_weight: float = 1.0, model_id: str = "unit-types") -> None:
        self.embedder = embedder
        self.C = C
        self.lexical_weight = lexical_weight
        self.model_id = model_id
        self.model: Any = None
        self.vectorizer: Any = None
        self.classes: list[UnitType] = []

    def _features(self, texts: Sequence[str], *, fit: bool = False, vectors: np.ndarray | None = None) -> Any:
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import TfidfVectorizer

        X = vectors if vectors is not None else np.asarray(self.embedder.embed_batch(list(texts)))
        words = [_lexical(t) for t in texts]
        if fit:
            self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"(?u)\b\w[\w']*\b")
            W = self.vectorizer.fit_transform(words)
        else:
            W = self.vectorizer.transform(words)
        return sp.hstack([sp.csr_matrix(X), W * self.lexical_weight]).tocsr()

    def fit(self, texts: Sequence[str], labels: Sequence[UnitType], *, vectors: np.ndarray | None = None) -> UnitTypeClassifier:
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000, random_state=0)
        self.model.fit(self._features(texts, fit=True, vectors=vectors), [str(t) for t in labels])
        self.classes = [UnitType(c) for c in self.model.classes_]
        return self

    def classify(self, texts: Sequence[str], *, vectors: np.ndarray | None = None) -> list[UnitTypeResult]:
        """One result per text (the most probable type and its probability)."""
        if not texts:
            return []
        P = np.asarray(self.model.predict_proba(self._features(texts, vectors=vectors)))
        out = []
        for row in P:
            probs = {c: float(p) for c, p in zip(self.classes, row, strict=True)}
            best = max(probs, key=lambda k: probs[k])
            out.append(UnitTypeResult(type=best, confidence=probs[best], probabilities=probs))
        return out

    def save(self, path: Path, manifest: dict[str, Any]) -> None:
        import joblib

        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"model": self.model, "vectorizer": self.vectorizer, "classes": [str(c) for c in self.classes],
                     "lexical_weight": self.lexical_weight, "C": self.C}, path)
        path.with_suffix(".json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def train_unit_classifier(embedder: Any, texts: Sequence[str], labels: Sequence[UnitType], **options: Any) -> UnitTypeClassifier:
    return UnitTypeClassifier(embedder, **options).fit(texts, labels)


def load_unit_classifier(embedder: Any, path: str | Path | None = None) -> UnitTypeClassifier:
    """The committed head paired with ``embedder`` (the same MiniLM the report uses)."""
    file = Path(path) if path is not None else default_unit_model_path()
    if not file.is_file():
        raise ConfigError(f"No unit-type model at {file}: train one with `concord eval report --retrain-units`")
    import joblib

    payload = joblib.load(file)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
    clf = UnitTypeClassifier(embedder, C=float(payload.get("C", 2.0)), lexical_weight=float(payload["lexical_weight"]), model_id=f"unit-types:{digest}")
    clf.model, clf.vectorizer = payload["model"], payload["vectorizer"]
    clf.classes = [UnitType(c) for c in payload["classes"]]
    return clf
