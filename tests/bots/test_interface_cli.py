"""`concord serve` and `concord bot` from the command line: real processes, real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bots.cli.main import main

CONCORD = [sys.executable, "-m", "bots.cli.main"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_bot_without_token_is_a_one_line_config_error(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert main(["bot"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "No Discord bot token: set CONCORD_DISCORD__TOKEN" in err


def test_serve_refuses_a_busy_port(capsys) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    assert f"Cannot serve on 127.0.0.1:{port}" in capsys.readouterr().err


def test_serve_prints_its_address_and_serves_the_sample(sample_db_template: Path, tmp_path: Path) -> None:
    import shutil

    port = _free_port()
    db = tmp_path / "sample.db"
    shutil.copy(sample_db_template, db)
    env = {**os.environ, "CONCORD_DATABASE_URL": f"sqlite:///{db.as_posix()}",
           "CONCORD_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([*CONCORD, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = proc.stderr.readline()  # type: ignore[union-attr]
        assert f"Concord dashboard: http://127.0.0.1:{port}/" in first_line
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/daos", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the dashboard did not answer within 30 s"
                time.sleep(0.2)
        assert [d["slug"] for d in response.json()] == ["aave", "arbitrum", "compound"]
        assert httpx.get(f"http://127.0.0.1:{port}/", follow_redirects=True, timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_proposals_lists_the_store_ids_other_commands_take(sample_store, monkeypatch, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CONCORD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONCORD_DATABASE_URL", sample_store.engine.url.render_as_string(hide_password=False))
    assert main(["proposals", "--dao", "compound", "--limit", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3 and {r["dao"] for r in rows} == {"compound"}
    assert len({r["id"] for r in rows}) == 3 and all(r["external_id"] and r["title"] for r in rows)
    assert main(["report", "status", str(rows[0]["id"]), "--json"]) == 0  # the id is what `concord report` takes
    assert json.loads(capsys.readouterr().out)["path"] is None
    assert main(["proposals", "--dao", "nowhere"]) == 2
    assert "nowhere" in capsys.readouterr().err
