"""A run killed with SIGKILL in the middle resumes from its cursors: nothing duplicated, nothing lost."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


class GatedReplayServer(ReplayServer):
    """Answers normally until ``open_topics`` topics were served, then holds every topic answer until released.

    ``reached`` is set when the run asks for the first held topic: everything the run committed so far is in
    the store and the run is certainly still alive, blocked on that answer — a kill point with no timing in it.
    """

    def __init__(self, *, open_topics: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.open_topics = open_topics
        self.reached = threading.Event()
        self.released = threading.Event()
        self._served = 0
        self._gate = threading.Lock()

    def _handle(self, handler: Any, body: bytes | None) -> None:
        if re.match(r"^/t/(?:[^/]+/)?\d+\.json$", urlsplit(handler.path).path):
            with self._gate:
                self._served += 1
                held = self._served > self.open_topics and not self.released.is_set()
            if held:
                self.reached.set()
                self.released.wait()
        super()._handle(handler, body)


@pytest.mark.slow
def test_sigkill_midway_then_resume(tmp_path: Path, forum: dict[str, Any]) -> None:
    total = forum_post_count(forum)
    topics = len(forum["responses"]) - 1
    with GatedReplayServer(discourse=forum, page_size=10, topic_chunk=5, open_topics=topics // 3) as server:
        killed_db = tmp_path / "killed.db"
        process = _cli(server.url, killed_db)
        assert server.reached.wait(timeout=300), "the run never asked for the held topic"
        assert process.poll() is None  # blocked on the held answer: alive by construction
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        server.released.set()
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
