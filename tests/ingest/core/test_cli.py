"""The `concord` CLI: help everywhere, clear one-line errors with exit status 2, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer.main

from bots.cli.main import app, main


def _all_command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: click.Command, prefix: list[str]) -> None:
        paths.append(prefix)
        if hasattr(command, "list_commands"):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*prefix, name])

    walk(root, [])
    return paths


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    paths = _all_command_paths()
    assert ["status"] in paths and ["ingest", "sample"] in paths and ["config", "show"] in paths
    for path in paths:
        assert main([*path, "--help"]) == 0, path
        out = capsys.readouterr().out
        assert "Usage:" in out, path


def test_ingest_status_json_roundtrip(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_DATA_DIR", str(tmp_path / "d"))
    assert main(["init"]) == 0
    capsys.readouterr()
    assert main(["ingest", "sample", "--json"]) == 0
    summaries = json.loads(capsys.readouterr().out)
    assert {s["source"].split("/")[0] for s in summaries} == {"arbitrum", "compound", "aave"}
    assert sum(s["ingested"] for s in summaries) > 10_000
    assert main(["status", "--dao", "compound", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status[0]["slug"] == "compound"
    assert status[0]["sources"][0]["votes"] == 7733
    assert main(["ingest", "sample", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert sum(s["ingested"] for s in again) == 0


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["status", "--dao", "nope"], {}, "Unknown DAO 'nope'"),
        (["status"], {"CONCORD_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"}, "Cannot connect to the database"),
        (["status"], {"CONCORD_DATABASE_URL": "not a url"}, "is not a database URL"),
        (["status"], {"CONCORD_DATABASE_URL": "mysql://u@h/db"}, "Concord supports sqlite and postgresql"),
        (["--config", "missing.toml", "status"], {}, "Cannot read config file missing.toml"),
        (["status"], {"CONCORD_LLM__PORT": "eighty"}, "llm.port"),
    ],
)
def test_errors_are_one_line_exit_2(args: list[str], env: dict[str, str], expected: str, tmp_path: Path) -> None:
    import os

    subprocess.run([sys.executable, "-m", "bots", "init"], cwd=tmp_path, env={**os.environ, **{k: v for k, v in env.items() if k != "CONCORD_DATABASE_URL"}}, capture_output=True)
    result = subprocess.run(
        [sys.executable, "-m", "bots", *args], cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_traceback(tmp_path: Path) -> None:
    import os

    result = subprocess.run(
        [sys.executable, "-m", "bots", "--debug", "--config", "missing.toml", "status"],
        cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True,
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr


def test_malformed_toml_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.toml").write_text("data_dir = [\n")
    assert main(["--config", str(tmp_path / "bad.toml"), "status"]) == 2
    assert "is not valid TOML" in capsys.readouterr().err


def test_config_show_masks_secrets(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CONCORD_DISCORD__TOKEN", "very-secret-token")
    monkeypatch.setenv("CONCORD_DATABASE_URL", "postgresql+psycopg://user:hunter2@db:5432/concord")
    assert main(["config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    assert "very-secret-token" not in out and "hunter2" not in out
    data = json.loads(out)
    assert data["discord"]["token"] == "********"
    assert data["database_url"] == "postgresql+psycopg://user:***@db:5432/concord"


def test_typer_exit_codes_reach_the_shell() -> None:
    """A command's `typer.Exit(n)` must become the process exit status, not 0."""
    import typer as _typer

    from bots.cli.main import app as root_app

    probe = _typer.Typer()

    @probe.command("exit3")
    def exit3() -> None:
        raise _typer.Exit(3)

    root_app.add_typer(probe, name="probe-exit")
    try:
        assert main(["probe-exit", "exit3"]) == 3
    finally:
        root_app.registered_groups.pop()
