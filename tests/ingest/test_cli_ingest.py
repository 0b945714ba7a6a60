"""`concord ingest ...` end to end: help with examples, the replayed sample, newer Discord exports."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest
from sqlmodel import select

from bots.cli.main import main
from ingest.core.domain import Post, Proposal, Thread, Vote
from ingest.core.store import Store
from ingest.sources.recordings import SAMPLE_DIR, load_recording


@pytest.mark.parametrize(
    "command",
    ["sample", "discourse", "snapshot", "governor", "discord", "discord-export", "link", "identities"],
)
def test_help_shows_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", command, "--help"]) == 0
    assert f"Example: concord ingest {command}" in " ".join(capsys.readouterr().out.split())


@pytest.mark.slow
def test_sample_goes_through_the_live_clients_and_matches_the_recorded_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{db.as_posix()}")
    assert main(["ingest", "sample", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert any(
        s["source"] == "arbitrum/discourse:forum.arbitrum.foundation" and s["ingested"] > 1900 for s in first
    )
    assert main(["ingest", "sample", "--json"]) == 0
    assert all(s["ingested"] == 0 and s["updated"] == 0 for s in json.loads(capsys.readouterr().out))
    replayed = Store.open(f"sqlite:///{db.as_posix()}")
    try:
        for model in (Thread, Post, Proposal, Vote):
            assert replayed.count(model) == sample_store.count(model), model.__name__
    finally:
        replayed.close()


def _write_export(path: Path, export: dict) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(export, handle)
    return path


def test_newer_discord_export_adds_edits_and_deletes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{db.as_posix()}")
    full = load_recording(SAMPLE_DIR / "discord-aave.json.gz")
    messages = [m for m in full["messages"] if m["content"].strip()][:60]
    old = {**full, "messages": messages[:50]}
    assert (
        main(
            [
                "ingest",
                "discord-export",
                "--dao",
                "aave",
                "--json",
                str(_write_export(tmp_path / "v1.json.gz", old)),
            ]
        )
        == 0
    )
    capsys.readouterr()

    newer = copy.deepcopy(messages)
    removed = newer.pop(10)
    newer[19].update(content="edited later", timestampEdited="2030-01-01T00:00:00+00:00")
    edited_id = newer[19]["id"]
    v2 = _write_export(tmp_path / "v2.json.gz", {**full, "messages": newer})
    assert main(["ingest", "discord-export", "--dao", "aave", "--json", "--complete", str(v2)]) == 0
    summary = json.loads(capsys.readouterr().out)[0]
    assert summary["ingested"] == 10 and summary["updated"] == 2  # 10 new; one edit, one deletion

    store = Store.open(f"sqlite:///{db.as_posix()}")
    try:
        with store.session() as session:
            posts = {p.external_id: p for p in session.exec(select(Post))}
        assert posts[edited_id].text == "edited later"
        assert posts[removed["id"]].deleted and posts[removed["id"]].text == ""
        assert len(posts) == 60
    finally:
        store.close()
    assert main(["ingest", "discord-export", "--dao", "aave", "--json", str(v2)]) == 0
    again = json.loads(capsys.readouterr().out)[0]
    assert (again["ingested"], again["updated"]) == (0, 0)
