"""The store's predictor reads proposal text as the settings say: each text embedded once and kept on disk (a
second predictor, as in a second process, embeds nothing), a changed text embedded again, the families named in the
model id, the report's model line and the committed forecast's hashes. A stand-in encoder: no MiniLM loads."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlmodel import select

from agent.predict.pooled import POOLED_MODEL_NAME, describe_prediction
from agent.predict.predictor import StorePredictor, build_predictor
from agent.predict.service import Prediction
from agent.predict.text_neighbours import TEXT_FEATURES
from embeddings import CachedEmbedder, cached_embedder
from governance.forecasts import commit_forecast
from ingest.core.domain import Proposal
from ingest.core.errors import ConfigError
from ingest.core.settings import ConcordSettings, load_settings
from ingest.core.store import Store

KEY = "0x" + "33" * 32
T0 = datetime(2023, 1, 2, tzinfo=UTC)
TOPICS = ("Fund", "Elect", "Raise", "Ban")


class CountingEncoder:
    """Deterministic stand-in vectors (texts sharing their first word point the same way); records what it embeds."""

    model_id = "stand-in-encoder"
    dim = 16

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        rows = []
        for text in texts:
            head = hashlib.sha256(text.split()[0].encode()).digest() if text.split() else bytes(32)
            own = hashlib.sha256(text.encode()).digest()
            rows.append(np.frombuffer(head, np.uint8)[:16].astype(float) - 128 + 0.1 * (np.frombuffer(own, np.uint8)[:16] - 128.0))
        vectors = np.asarray(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def weights_sha256(self) -> str:
        return "0" * 64


def _add(store: Store, dao: str, i: int, *, outcome: str | None, start: datetime) -> Proposal:
    topic = TOPICS[i % 4]
    row = Proposal(dao_id=store.ensure_dao(dao, dao.title()).id, origin="snapshot", external_id=f"{dao}-{i}",
                   title=f"{topic} proposal {i}", body=f"{topic} details of {dao} proposal {i}", author=f"u{i % 5}",
                   choices=["For", "Against"], created_at=start, start=start, end=start + timedelta(days=2),
                   outcome=outcome, content_hash=f"{i:064d}")
    with store.session() as session:
        session.add(row)
        session.commit()
        session.refresh(row)
    return row


@pytest.fixture
def two_daos(empty_store: Store) -> tuple[Store, Proposal, Proposal]:
    """Two DAOs with 40 closed proposals each ("Fund" and "Raise" proposals pass, the others fail) and two
    proposals not yet voted on."""
    for dao in ("alpha", "beta"):
        for i in range(40):
            _add(empty_store, dao, i, outcome="passed" if TOPICS[i % 4] in ("Fund", "Raise") else "failed",
                 start=T0 + timedelta(days=3 * i + (dao == "beta")))
    later = T0 + timedelta(days=200)
    return empty_store, _add(empty_store, "alpha", 40, outcome=None, start=later), _add(empty_store, "beta", 41, outcome=None, start=later)


def _settings(tmp_path_factory: pytest.TempPathFactory, families: list[str]) -> ConcordSettings:
    return load_settings(data_dir=tmp_path_factory.mktemp("data"), prediction={"families": families})


def _predictor(settings: ConcordSettings, store: Store, encoder: CountingEncoder) -> StorePredictor:
    """The predictor as the services wire it, its encoder the stand-in behind the data directory's vector cache."""
    shared: Callable[[], CachedEmbedder] = functools.cache(lambda: cached_embedder(settings, encoder=encoder))
    return build_predictor(settings, store=store, encoder=shared)


def test_each_text_is_embedded_once_and_a_second_process_embeds_none(
    two_daos: tuple[Store, Proposal, Proposal], tmp_path_factory: pytest.TempPathFactory
) -> None:
    store, first, second = two_daos
    settings = _settings(tmp_path_factory, ["text"])
    encoder = CountingEncoder()
    predictor = _predictor(settings, store, encoder)
    got = predictor.prediction(first)
    assert len(encoder.embedded) == 82 and len(set(encoder.embedded)) == 82  # every stored proposal, once
    predictor.prediction(second)
    assert len(encoder.embedded) == 82  # a second prediction finds every vector cached
    assert (settings.index_dir / "vectors.sqlite").is_file()

    again = CountingEncoder()  # a new process: a new predictor and encoder over the same data directory
    assert _predictor(settings, store, again).prediction(first).p_pass == pytest.approx(got.p_pass, rel=1e-12)
    assert again.embedded == []


class WaitingEncoder(CountingEncoder):
    """Waits (up to 1 s) inside each call for another call to arrive, so calls that can overlap do; counts overlaps."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.most_inside = 0, 0
        self.changed = threading.Condition()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self.changed:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.inside > 1, timeout=1.0)
        try:
            return super().embed_batch(texts)
        finally:
            with self.changed:
                self.inside -= 1


def test_concurrent_first_predictions_embed_each_text_once(
    two_daos: tuple[Store, Proposal, Proposal], tmp_path_factory: pytest.TempPathFactory
) -> None:
    store, first, second = two_daos
    settings = _settings(tmp_path_factory, ["text"])
    encoder = WaitingEncoder()
    predictor = _predictor(settings, store, encoder)
    with ThreadPoolExecutor(2) as pool:  # two dashboard workers asking for two proposals of a cold store at once
        got = list(pool.map(predictor.prediction, [first, second]))
    assert encoder.most_inside == 1 and len(encoder.embedded) == 82  # one embedding of every text; the other waited
    assert [g.p_pass for g in got] == [_predictor(settings, store, CountingEncoder()).prediction(p).p_pass for p in (first, second)]


def test_a_changed_text_is_embedded_again_and_no_other(
    two_daos: tuple[Store, Proposal, Proposal], tmp_path_factory: pytest.TempPathFactory
) -> None:
    store, first, _ = two_daos
    settings = _settings(tmp_path_factory, ["text"])
    _predictor(settings, store, CountingEncoder()).prediction(first)
    with store.session() as session:
        edited = session.exec(select(Proposal).where(Proposal.external_id == "beta-7")).one()
        edited.body = "Ban everything, a rewritten body"
        session.add(edited)
        session.commit()
    encoder = CountingEncoder()
    _predictor(settings, store, encoder).prediction(first)
    assert encoder.embedded == ["Ban proposal 7\nBan everything, a rewritten body"]


def test_the_families_setting_switches_text_and_the_prediction_says_which_it_read(
    two_daos: tuple[Store, Proposal, Proposal], tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, first, _ = two_daos
    with_text = _predictor(_settings(tmp_path_factory, ["text"]), store, CountingEncoder()).prediction(first)
    encoder = CountingEncoder()
    monkeypatch.setenv("CONCORD_PREDICTION__FAMILIES", "[]")
    history = _predictor(load_settings(data_dir=tmp_path_factory.mktemp("data")), store, encoder).prediction(first)
    assert encoder.embedded == []  # history only: no text read
    assert with_text.families == ("text",) and history.families == ()
    assert set(TEXT_FEATURES) <= set(with_text.features) and not set(TEXT_FEATURES) & set(history.features)
    assert with_text.model_id.startswith(f"{POOLED_MODEL_NAME}+text:") and history.model_id.startswith(f"{POOLED_MODEL_NAME}:")
    assert "features: history + text (how the most similar earlier proposals ended))" in describe_prediction(with_text)
    assert "features: history)" in describe_prediction(history)
    assert with_text.p_pass != pytest.approx(history.p_pass, abs=1e-6)  # the neighbours' outcomes moved it


def test_text_is_the_default_and_an_unknown_family_names_the_setting() -> None:
    assert ConcordSettings().prediction.families == ["text"]
    assert load_settings(prediction={"families": []}).prediction.families == []  # history only, when asked
    with pytest.raises(ConfigError, match="CONCORD_PREDICTION__FAMILIES"):
        build_predictor(load_settings(prediction={"families": ["txt"]}), store=None)  # type: ignore[arg-type]


def test_the_committed_inputs_and_model_hashes_change_with_the_families(empty_store: Store) -> None:
    start = datetime(2026, 6, 2, tzinfo=UTC)
    prediction = Prediction(p_pass=0.6, low=0.5, high=0.7, vote_share=None, n_train=80, model_id="m:abc",
                            features={"dao_rate": 0.5})

    def committed(external_id: str, families: tuple[str, ...]) -> tuple[str, str]:
        proposal = _add(empty_store, "alpha", int(external_id), outcome=None, start=start)
        proposal.content_hash = "c" * 64  # the same stored content for every proposal here
        record = commit_forecast(empty_store, proposal, key=KEY, now=start - timedelta(hours=1),
                                 predictor=lambda _s, _p: dataclasses.replace(prediction, families=families))
        return record.inputs_hash, record.model_hash

    plain, same = committed("1", ()), committed("2", ())
    assert plain == same  # the same inputs hash the same
    text = committed("3", ("text",))
    assert text[0] != plain[0] and text[1] != plain[1]
