"""DiscordChatExporter imports: an export never destroys or skips, bad input is quarantined, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bots.cli.main import main
from ingest.core.domain import Post, QuarantinedRecord
from ingest.core.store import Store
from ingest.sources.discord_live import mark_deleted


def _message(i: int, content: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{1000 + i}",
        "timestamp": f"2024-01-{1 + i // 24:02d}T{i % 24:02d}:00:00+00:00",
        "content": content or f"message number {i}",
        "author": {"id": "7", "name": "alice"},
        **extra,
    }


def _export(messages: list[Any], **top: Any) -> dict[str, Any]:
    return {"guild": {"id": "g1", "name": "Guild"}, "channel": {"id": "c1", "name": "gov"}, "messages": messages, **top}


def _write(path: Path, export: dict[str, Any] | bytes | str) -> Path:
    if isinstance(export, bytes):
        path.write_bytes(export)
    elif isinstance(export, str):
        path.write_text(export, encoding="utf-8")
    else:
        path.write_text(json.dumps(export), encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "export.db"
    monkeypatch.setenv("CONCORD_DATABASE_URL", f"sqlite:///{path.as_posix()}")
    return path


def _import(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any] | None, str]:
    code = main(["ingest", "discord-export", "--dao", "guild", "--json", *args])
    captured = capsys.readouterr()
    summaries = json.loads(captured.out) if captured.out.strip() else []
    return code, (summaries[0] if summaries else None), captured.err


def _posts(db: Path) -> dict[str, Post]:
    store = Store.open(f"sqlite:///{db.as_posix()}")
    try:
        with store.session() as session:
            return {p.external_id: p for p in session.exec(select(Post))}
    finally:
        store.close()


def _quarantine(db: Path) -> list[QuarantinedRecord]:
    store = Store.open(f"sqlite:///{db.as_posix()}")
    try:
        with store.session() as session:
            return list(session.exec(select(QuarantinedRecord).order_by(QuarantinedRecord.id)))
    finally:
        store.close()


FULL = [_message(i) for i in range(60)]


# --- exports are evidence of what exists ------------------------------------------------------------------


def test_narrower_export_never_blanks_stored_messages(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(capsys, str(_write(tmp_path / "full.json", _export(FULL))))[0] == 0
    sparse = FULL[20:40:2]  # a narrower export holding only some of the channel's messages in its span
    code, summary, _ = _import(capsys, str(_write(tmp_path / "narrow.json", _export(sparse))))
    assert code == 0 and summary is not None
    assert (summary["ingested"], summary["updated"]) == (0, 0)
    posts = _posts(db)
    assert len(posts) == 60 and not any(p.deleted for p in posts.values())
    assert posts["1005"].text == "message number 5"


def test_complete_export_marks_deleted_only_inside_its_range(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(capsys, str(_write(tmp_path / "full.json", _export(FULL))))[0] == 0
    window = [m for m in FULL[20:40] if m["id"] != "1030"]
    code, summary, _ = _import(capsys, "--complete", str(_write(tmp_path / "window.json", _export(window))))
    assert code == 0 and summary is not None and summary["updated"] == 1
    posts = _posts(db)
    assert [k for k, p in posts.items() if p.deleted] == ["1030"]
    assert posts["1030"].text == ""
    assert posts["1010"].text == "message number 10" and posts["1050"].text == "message number 50"


def test_complete_honours_the_declared_date_range(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(capsys, str(_write(tmp_path / "full.json", _export(FULL))))[0] == 0
    declared = {"after": FULL[0]["timestamp"], "before": FULL[59]["timestamp"]}
    code, summary, _ = _import(
        capsys, "--complete", str(_write(tmp_path / "window.json", _export(FULL[20:40], dateRange=declared)))
    )
    assert code == 0 and summary is not None and summary["updated"] == 40  # the operator said: all of it
    assert sum(p.deleted for p in _posts(db).values()) == 40


def test_reimporting_restores_what_the_file_holds(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    full = _write(tmp_path / "full.json", _export(FULL))
    assert _import(capsys, str(full))[0] == 0
    store = Store.open(f"sqlite:///{db.as_posix()}")
    try:
        source_id = next(iter(_posts(db).values())).source_id
        assert mark_deleted(store, source_id, [m["id"] for m in FULL[:30]]) == 30  # e.g. an old wrongful blanking
    finally:
        store.close()
    code, summary, _ = _import(capsys, str(full))
    assert code == 0 and summary is not None and summary["updated"] == 30
    posts = _posts(db)
    assert not any(p.deleted for p in posts.values())
    assert all(posts[m["id"]].text == m["content"] for m in FULL)


def test_older_export_after_a_newer_one_stores_its_messages(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(capsys, str(_write(tmp_path / "newer.json", _export(FULL[40:]))))[1]["ingested"] == 21  # type: ignore[index]
    code, summary, _ = _import(capsys, str(_write(tmp_path / "older.json", _export(FULL[20:40]))))
    assert code == 0 and summary is not None
    assert (summary["ingested"], summary["quarantined"]) == (20, 0)
    assert len(_posts(db)) == 40


def test_complete_is_refused_when_some_ids_are_unreadable(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(capsys, str(_write(tmp_path / "full.json", _export(FULL[:10]))))[0] == 0
    damaged = [*FULL[:4], {**FULL[4], "id": None}, *FULL[5:10]]
    code, summary, err = _import(capsys, "--complete", str(_write(tmp_path / "damaged.json", _export(damaged))))
    assert code == 1 and summary is not None and summary["quarantined"] == 1
    assert "--complete not applied" in err
    assert not any(p.deleted for p in _posts(db).values())


# --- bad input: quarantined with its reason, good records stored, a summary and an exit status ------------


BAD_CASES: dict[str, tuple[Any, str]] = {
    "timestamp 10^20": ({**_message(3), "timestamp": 10**20}, "outside the representable time range"),
    "time 'yesterday'": ({**_message(3), "timestamp": "yesterday"}, "'yesterday' is not an ISO 8601 time"),
    "null id": ({**_message(3), "id": None}, "missing required field 'id'"),
    "no author": ({k: v for k, v in _message(3).items() if k != "author"}, "missing required field 'author'"),
    "not an object": ("just text", "expected a JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_message_is_quarantined_once_and_the_rest_stored(
    case: str, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, reason = BAD_CASES[case]
    path = _write(tmp_path / "export.json", _export([*FULL[:3], bad, *FULL[4:6]]))
    for _run in range(2):  # a rerun meets the same bad record: same summary, no second row
        code, summary, err = _import(capsys, str(path))
        assert code == 1, err
        assert summary is not None and summary["quarantined"] == 1
        assert "Traceback" not in err
    rows = _quarantine(db)
    assert len(rows) == 1 and reason in rows[0].error, [r.error for r in rows]
    assert rows[0].attempts == 2 and rows[0].status == "open"
    assert set(_posts(db)) == {"1000", "1001", "1002", "1004", "1005"}


def test_null_id_in_the_last_message_adds_no_row_on_rerun(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "export.json", _export([*FULL[:5], {**FULL[5], "id": None}]))
    for _run in range(3):
        assert _import(capsys, str(path))[0] == 1
    assert len(_quarantine(db)) == 1


def test_invalid_utf8_quarantines_only_its_message(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = json.dumps(_export(FULL[:6])).encode("utf-8").replace(b"message number 3", b"message \xff\xfe number 3")
    code, summary, err = _import(capsys, str(_write(tmp_path / "bytes.json", raw)))
    assert code == 1 and summary is not None and summary["quarantined"] == 1
    assert "not UTF-8 at byte" in err
    rows = _quarantine(db)
    assert "not valid UTF-8" in rows[0].error and "\\udcff" in rows[0].raw  # the bytes are kept, escaped
    assert set(_posts(db)) == {"1000", "1001", "1002", "1004", "1005"}


def test_an_escaped_lone_surrogate_in_valid_utf8_quarantines_only_its_message(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Valid UTF-8 throughout, but one message's text holds the JSON escape of a byte that was not UTF-8.
    raw = json.dumps(_export(FULL[:6])).replace("message number 3", "message \\udcff number 3").encode("utf-8")
    code, summary, _err = _import(capsys, str(_write(tmp_path / "escaped.json", raw)))
    assert code == 1 and summary is not None and summary["quarantined"] == 1
    assert "not valid UTF-8" in _quarantine(db)[0].error
    assert set(_posts(db)) == {"1000", "1001", "1002", "1004", "1005"}


def test_deep_nesting_quarantines_only_its_message(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = json.dumps(_export(FULL[:6]))
    deep = '{"id": "1099", "content": ' + "[" * 100_000 + "]" * 100_000 + "}"
    text = text.replace('"messages": [', '"messages": [' + deep + ", ", 1)
    code, summary, err = _import(capsys, str(_write(tmp_path / "deep.json", text)))
    assert code == 1 and summary is not None and summary["quarantined"] == 1, err
    assert "nested deeper" in _quarantine(db)[0].error
    assert len(_posts(db)) == 6


def test_guild_null_is_read(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, summary, _ = _import(capsys, str(_write(tmp_path / "g.json", {**_export(FULL[:3]), "guild": None})))
    assert code == 0 and summary is not None and summary["ingested"] == 4  # the channel and its 3 messages


def test_truncated_file_keeps_the_messages_before_the_cut(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = json.dumps(_export(FULL[:6]))
    cut = text[: text.index('"1005"') + 10]  # inside the last message
    code, summary, err = _import(capsys, str(_write(tmp_path / "cut.json", cut)))
    assert code == 1 and summary is not None and summary["quarantined"] == 1
    assert "ends early" in err
    assert len(_posts(db)) == 5


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "file is empty"),
        (b"  \n", "file is empty"),
        (b'{"guild": {"id": "g"}, "channel": {"name": "x"}, "messages": []}', "the channel has no id"),
        (b'{"gu\xffild": 1, "messages": [', "not UTF-8 at byte 4"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (b'{"channel": {"id": "c"}}', "no 'messages' list"),
    ],
)
def test_unreadable_file_gets_one_line_and_exit_2(
    content: bytes, expected: str, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "broken.json", content)
    code, _summary, err = _import(capsys, str(path))
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and str(path) in lines[0] and expected in lines[0], err
    assert "Traceback" not in err


def test_unreadable_file_does_not_stop_the_others(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path / "good.json", _export(FULL[:3]))
    empty = _write(tmp_path / "empty.json", b"")
    code, summary, err = _import(capsys, str(empty), str(good))
    assert code == 2 and summary is not None and summary["ingested"] == 4
    assert "empty.json: file is empty" in err


def test_help_documents_exit_statuses_and_complete(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "discord-export", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--complete" in text and "1 some records quarantined" in text and "2 a file could not be read" in text
