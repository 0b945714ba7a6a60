"""Per-DAO agent configuration: the shipped example parses, the cluster carries the same file, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bots.agent_loop.runner import select_daos
from bots.cli.main import main as concord_main
from ingest.core.errors import ConfigError, InputError
from ingest.core.settings import load_settings

INFRA = Path(__file__).resolve().parents[3] / "infra"


def test_the_example_agent_config_parses_and_k8s_ships_the_same_file() -> None:
    settings = load_settings(INFRA / "agent.toml")
    arbitrum = settings.agent.daos["arbitrum"]
    assert [s["kind"] for s in arbitrum.sources] == ["discourse", "snapshot"] and arbitrum.recommend is False
    docs = list(yaml.safe_load_all((INFRA / "k8s" / "41-agent.yaml").read_text()))
    shipped = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["agent.toml"]
    assert shipped.strip() == (INFRA / "agent.toml").read_text().strip()


def test_a_typo_in_a_dao_section_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("[agent.daos.x]\ndiscord_chanel_id = 5\n")
    with pytest.raises(ConfigError, match="agent.daos.x.discord_chanel_id"):
        load_settings(tmp_path / "c.toml")


def test_an_unconfigured_dao_is_named_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.toml").write_text("[agent.daos.arbitrum]\n")
    settings = load_settings(tmp_path / "c.toml")
    with pytest.raises(InputError, match=r"no \[agent.daos.uniswap\] section \(configured: arbitrum\)"):
        select_daos(settings, "uniswap")
    assert concord_main(["--config", str(tmp_path / "c.toml"), "agent", "run", "--once", "--dao", "uniswap"]) == 2
    assert "Traceback" not in capsys.readouterr().err
