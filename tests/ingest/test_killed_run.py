"""A run killed with SIGKILL in the middle resumes from its cursors: nothing duplicated, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from ingest.replay import ReplayServer
from tests.ingest.conftest import forum_post_count


def _cli(url: str, db: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CONCORD_DATABASE_URL": f"sqlite:///{db.as_posix()}"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bots.cli.main",
            "ingest",
            "discourse",
            url,
            "--dao",
            "arbitrum",
            "--rate",
            "0",
            "--batch-items",
            "40",
            "--json",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _posts(db: Path) -> list[tuple[Any, ...]]:
    engine = create_engine(f"sqlite:///{db.as_posix()}")
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(text("SELECT external_id, text, thread_id FROM post ORDER BY external_id"))
            )
    except Exception:  # noqa: BLE001 - the table may not exist yet, or be locked for a moment
        return []
    finally:
        engine.dispose()


@pytest.mark.slow
def test_sigkill_midway_then_resume(tmp_path: Path, forum: dict[str, Any]) -> None:
    total = forum_post_count(forum)
    with ReplayServer(discourse=forum, page_size=10, topic_chunk=5, delay_s=0.03) as server:
        killed_db = tmp_path / "killed.db"
        process = _cli(server.url, killed_db)
        deadline = time.monotonic() + 60
        seen = 0
        while time.monotonic() < deadline:
            seen = len(_posts(killed_db))
            if seen >= total // 3:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run finished before it could be killed; slow the server down"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        partial = _posts(killed_db)
        assert 0 < len(partial) < total, (len(partial), total)

        resumed = _cli(server.url, killed_db)
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err.decode()

        clean_db = tmp_path / "clean.db"
        clean = _cli(server.url, clean_db)
        clean.communicate(timeout=120)

    final, reference = _posts(killed_db), _posts(clean_db)
    assert len(final) == total
    assert len({row[0] for row in final}) == total  # no duplicates
    assert [r[:2] for r in final] == [r[:2] for r in reference]  # nothing lost, nothing altered
    assert b'"ingested": ' in out
