"""Settings precedence: explicit > CONCORD_* environment > TOML file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.core.errors import ConfigError
from ingest.core.settings import load_settings


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == Path(".concord")
    assert settings.effective_database_url == "sqlite:///.concord/concord.db"


def test_file_then_env_then_explicit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('data_dir = "/from/file"\n[llm]\nmodel = "file-model"\nport = 1111\n')
    from_file = load_settings(config)
    assert from_file.data_dir == Path("/from/file") and from_file.llm.model == "file-model"
    monkeypatch.setenv("CONCORD_LLM__PORT", "2222")
    monkeypatch.setenv("CONCORD_DATA_DIR", "/from/env")
    merged = load_settings(config)
    assert merged.llm.port == 2222 and merged.llm.model == "file-model" and merged.data_dir == Path("/from/env")
    assert load_settings(config, data_dir=Path("/explicit")).data_dir == Path("/explicit")


def test_concord_toml_in_cwd_and_env_pointer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "concord.toml").write_text('default_dao = "arbitrum"\n')
    assert load_settings().default_dao == "arbitrum"
    other = tmp_path / "other.toml"
    other.write_text('default_dao = "compound"\n')
    monkeypatch.setenv("CONCORD_CONFIG", str(other))
    assert load_settings().default_dao == "compound"


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("no_such_option = 1\n")
    with pytest.raises(ConfigError, match="no_such_option"):
        load_settings(config)
