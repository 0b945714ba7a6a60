"""Crashes and outages: a killed first migration leaves nothing half-made; a lost or frozen database is one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from bots.cli.main import main
from ingest.core.errors import StoreError
from ingest.core.store import Store
from ingest.core.store.migrate import current_revisions, head_revisions

# Runs `concord init` and SIGKILLs itself just before the Nth table of the first migration is created:
# a deterministic kill point inside the schema setup.
_KILL_DURING_INIT = """
import os, signal, sys
from alembic.operations import Operations
original = Operations.create_table
calls = []
def create_table(self, *args, **kwargs):
    calls.append(args[0])
    if len(calls) == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, *args, **kwargs)
Operations.create_table = create_table
from bots.cli.main import main
sys.exit(main(["init"]))
"""


def _tables(db: Path) -> set[str]:
    engine = create_engine(f"sqlite:///{db.as_posix()}")
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("kill_at", [2, 8, 13])
def test_kill_during_first_init_leaves_nothing_half_made(
    kill_at: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "first.db"
    env = {**os.environ, "CONCORD_DATABASE_URL": f"sqlite:///{db.as_posix()}", "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3]) + os.pathsep + env["PYTHONPATH"]
    killed = subprocess.run([sys.executable, "-c", _KILL_DURING_INIT, str(kill_at)], env=env, capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    assert _tables(db) - {"alembic_version"} == set()  # all or nothing: nothing

    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{db.as_posix()}")
    assert main(["init"]) == 0
    assert main(["status", "--json"]) == 0
    capsys.readouterr()
    store = Store.open(f"sqlite:///{db.as_posix()}", migrate=False)
    assert current_revisions(store.engine) == head_revisions()
    store.close()


def _half_created(db: Path, *, with_row: bool = False) -> None:
    """What an interrupted first migration left before migrations were atomic: tables, no revision."""
    from sqlmodel import SQLModel

    import ingest.core.domain  # noqa: F401

    engine = create_engine(f"sqlite:///{db.as_posix()}")
    tables = [t for t in SQLModel.metadata.sorted_tables if t.name in {"audit_entry", "dao", "source", "author", "thread"}]
    SQLModel.metadata.create_all(engine, tables=tables)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        if with_row:
            connection.execute(text("INSERT INTO dao (slug, name, created_at) VALUES ('x', 'x', '2024-01-01')"))
    engine.dispose()


def test_init_repairs_a_half_created_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "half.db"
    _half_created(db)
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{db.as_posix()}")
    assert main(["status"]) == 2
    assert "Run `concord init`" in capsys.readouterr().err
    assert main(["init"]) == 0
    assert main(["ingest", "discord-export", "--help"]) == 0
    capsys.readouterr()
    store = Store.open(f"sqlite:///{db.as_posix()}", migrate=False)
    assert current_revisions(store.engine) == head_revisions()
    store.close()


def test_init_never_drops_tables_holding_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "half-with-data.db"
    _half_created(db, with_row=True)
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{db.as_posix()}")
    assert main(["init"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has Concord tables with rows (dao)" in err and "Traceback" not in err
    assert "dao" in _tables(db)


# --- PostgreSQL lost or frozen --------------------------------------------------------------------------


@pytest.fixture
def frozen_server() -> Iterator[int]:
    """A loopback TCP server that accepts connections and never answers (a frozen database host)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_frozen_database_server_is_one_line_and_exit_2(frozen_server: int, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CONCORD_DATABASE_URL": f"postgresql+psycopg://concord@127.0.0.1:{frozen_server}/concord",
        "CONCORD_DATABASE_CONNECT_TIMEOUT_S": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[3]) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    # The subprocess timeout only turns a hang (the bug) into a failure; the connect timeout ends the run.
    done = subprocess.run([sys.executable, "-m", "bots.cli.main", "status"], env=env, capture_output=True, timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("Error: Cannot connect to the database") and "timeout" in err, err


@pytest.mark.postgres
def test_statement_timeout_from_settings_is_one_line(postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    Store.open(postgres_url).close()
    blocker = create_engine(postgres_url)
    with blocker.connect() as holder:
        transaction = holder.begin()
        holder.execute(text("LOCK TABLE dao IN ACCESS EXCLUSIVE MODE"))  # held until rolled back below
        store = Store.open(postgres_url, migrate=False, statement_timeout_s=0.5)
        with pytest.raises(StoreError, match="stopped answering .*statement timeout.*run the command again"):
            store.list_daos()
        store.close()
        monkeypatch.setenv("CONCORD_DATABASE_URL", postgres_url)
        monkeypatch.setenv("CONCORD_DATABASE_STATEMENT_TIMEOUT_S", "0.5")
        assert main(["status"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "statement timeout" in err
        transaction.rollback()
    blocker.dispose()


@pytest.mark.postgres
def test_database_lost_mid_run_is_one_line(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    store = Store.open(postgres_url)
    dao = store.ensure_dao("lost")
    admin = create_engine(make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = make_url(postgres_url).database
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
    with pytest.raises(StoreError, match="stopped answering") as raised:
        store.ensure_source(dao, "discord", "x")
    assert "\n" not in str(raised.value)
    store.close()


class FreezableProxy:
    """A loopback TCP proxy to PostgreSQL that can freeze: it keeps the connections but forwards nothing more."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.frozen = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            if self.frozen.is_set():
                return  # swallow: the peer waits for an answer that never comes
            try:
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()
        for s in self.sockets:
            s.close()


@pytest.mark.postgres
def test_server_frozen_mid_run_is_one_line(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    Store.open(postgres_url).close()
    proxy = FreezableProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        store = Store.open(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
                           migrate=False, connect_timeout_s=1, statement_timeout_s=1)
        assert store.list_daos() == []  # answering through the proxy
        proxy.frozen.set()
        with pytest.raises(StoreError, match="stopped answering") as raised:
            store.ensure_dao("frozen")  # the server-side timeout cannot arrive: the client-side one ends it
        assert "\n" not in str(raised.value)
        store.close()
    finally:
        proxy.close()
