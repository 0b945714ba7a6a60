"""Shared fixtures: settings in a temp data dir, stores on SQLite and on the machine's PostgreSQL.

Area-specific fixtures (the embedded LLM server, the in-process chain, loopback API servers)
live in the conftest.py of that area's test folder.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from ingest.core.settings import ConcordSettings, load_settings
from ingest.core.store import Store
from ingest.pipeline import run_ingestion
from ingest.sources.sample import SAMPLE_DAOS, sample_sources

PG_ADMIN_URL = os.environ.get("CONCORD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def _clean_concord_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's CONCORD_* variables, ./concord.toml or terminal width.

    The CLI wraps at the terminal's width; a fixed width keeps its output the same in an 80-column terminal, in
    a pipe and in a pytest-xdist worker.
    """
    for key in list(os.environ):
        if key.startswith("CONCORD_") and key != "CONCORD_TEST_PG_URL":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("COLUMNS", "140")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> ConcordSettings:
    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'store.db').as_posix()}"


def _pg_admin():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} did not answer ({str(exc.orig).strip()[:120]}); PostgreSQL tests not run")
    return engine


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    admin = _pg_admin()
    name = f"concord_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


def ingest_sample(store: Store) -> None:
    for dao in SAMPLE_DAOS:
        store.ensure_dao(dao.slug, dao.name, forum_url=dao.forum_url, snapshot_space=dao.snapshot_space, chain_id=dao.chain_id)
    for slug, source in sample_sources():
        run_ingestion(store, store.get_dao(slug), source)


@pytest.fixture(scope="session")
def sample_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample ingested once per session into a SQLite file; copy it, don't write to it."""
    path = tmp_path_factory.mktemp("sample") / "sample.db"
    template = Store.open(f"sqlite:///{path.as_posix()}")
    ingest_sample(template)
    template.close()
    return path


@pytest.fixture
def sample_store(sample_db_template: Path, tmp_path: Path) -> Iterator[Store]:
    """A private SQLite store holding the bundled sample (copied from the session template)."""
    import shutil

    target = tmp_path / "sample-copy.db"
    shutil.copy(sample_db_template, target)
    opened = Store.open(f"sqlite:///{target.as_posix()}")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """The real MiniLM encoder from the packaged weights (offline), loaded once per session."""
    from embeddings import SentenceTransformerEmbedder, minilm_path

    return SentenceTransformerEmbedder(minilm_path(), model_id="all-MiniLM-L6-v2", batch_size=32)


@pytest.fixture(scope="session")
def empty_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite store made once per session; copy it, don't write to it."""
    path = tmp_path_factory.mktemp("empty") / "empty.db"
    Store.open(f"sqlite:///{path.as_posix()}").close()
    return path


@pytest.fixture
def empty_store(empty_db_template: Path, tmp_path: Path) -> Iterator[Store]:
    """A private, empty SQLite store (a copy of the session's migrated template: no migration per test)."""
    import shutil

    target = tmp_path / "empty-copy.db"
    shutil.copy(empty_db_template, target)
    opened = Store.open(f"sqlite:///{target.as_posix()}", migrate=False)
    yield opened
    opened.close()
