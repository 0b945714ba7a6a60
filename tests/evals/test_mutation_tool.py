"""The per-module mutation runner's bookkeeping: its mutmut config, and the score read from mutmut's results."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from evals import mutation


def test_each_module_gets_its_own_mutmut_section_and_keeps_the_pytest_settings() -> None:
    config = tomllib.loads(mutation.pyproject_for("bots/web/security.py"))
    section = config["tool"]["mutmut"]
    assert section["only_mutate"] == ["bots/web/security.py"]
    assert section["pytest_add_cli_args_test_selection"] == mutation.MODULES["bots/web/security.py"]
    assert "not chain" in section["pytest_add_cli_args"][section["pytest_add_cli_args"].index("-m") + 1]
    assert config["tool"]["pytest"]["ini_options"]["asyncio_mode"] == "auto"
    assert mutation.pyproject_for("bots/web/security.py").count("[tool.mutmut]") == 1


def test_every_module_names_test_files_that_exist() -> None:
    root = Path(mutation.__file__).resolve().parent.parent
    for module, tests in mutation.MODULES.items():
        assert (root / module).is_file(), module
        assert tests and all((root / t).exists() for t in tests), module


def test_an_unknown_module_is_refused_with_the_known_ones() -> None:
    with pytest.raises(SystemExit, match="unknown module 'nope.py'; known: bots/web/security.py"):
        mutation.prepare("nope.py")


def test_the_score_is_killed_over_mutants_that_are_not_equivalent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mutation, "RUNS", tmp_path)
    meta = tmp_path / "bots.web.security" / "mutants" / "bots" / "web" / "security.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {"m.k1": 1, "m.k2": 3, "m.k3": 1, "m.s1": 0, "m.eq": 0, "m.t": 36, "m.none": 33}
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    score = mutation.score_of("bots/web/security.py", {"m.eq": "why", "m.k1": "listed but killed"})
    assert score is not None and score.total == 7
    assert score.counts == {"killed": 3, "survived": 2, "timeout": 1, "no tests": 1}
    assert score.equivalent == ["m.eq"] and score.score == pytest.approx(3 / 6)
    assert score.survivors == ["m.none (no tests)", "m.s1 (survived)", "m.t (timeout)"]
    data = mutation.results([score], {"m.eq": "why"})
    row = data["modules"][0]
    assert (row["killed"], row["survived"], row["timeout"], row["no_tests"], row["score"]) == (3, 2, 1, 1, 0.5)
    assert "| `bots/web/security.py` | 7 | 3 | 3 | 1 | 1 | 0 | 50.0% |" in mutation.render_markdown(data)
    assert "agent/report/faithfulness.py" in data["not_run"]


def test_a_run_not_finished_has_no_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mutation, "RUNS", tmp_path)
    meta = tmp_path / "ingest.writer" / "mutants" / "ingest" / "writer.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": {"a": 1, "b": None}}))
    data = mutation.results([mutation.score_of("ingest/writer.py", {})], {})
    assert data["modules"][0]["score"] is None and data["modules"][0]["not_checked"] == 1
    assert "| `ingest/writer.py` | 2 | 1 | 0 | 0 | 0 | 1 | incomplete |" in mutation.render_markdown(data)


def test_scoring_into_a_results_file_keeps_the_rows_of_modules_not_run_here(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mutation, "RUNS", tmp_path / "runs")
    meta = tmp_path / "runs" / "governance.audit" / "mutants" / "governance" / "audit.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": {"a": 1, "b": 1, "c": 0}}))
    out = tmp_path / "mutation.json"
    earlier = {"modules": [
        {"module": "governance/audit.py", "tests": [], "total": 9, "killed": 1, "survived": 0, "equivalent": {}, "no_tests": 0,
         "timeout": 0, "not_checked": 8, "score": None, "left": []},
        {"module": "bots/web/security.py", "tests": [], "total": 208, "killed": 203, "survived": 5, "equivalent": {"x": "why"},
         "no_tests": 0, "timeout": 0, "not_checked": 0, "score": 1.0, "left": []},
    ], "not_run": []}
    out.write_text(json.dumps(earlier))
    assert mutation.main(["score", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [m["module"] for m in data["modules"]] == ["bots/web/security.py", "governance/audit.py"]  # MODULES order
    assert data["modules"][0] == earlier["modules"][1] and data["kept"] == ["bots/web/security.py"]
    assert (data["modules"][1]["total"], data["modules"][1]["killed"], data["modules"][1]["not_checked"]) == (3, 2, 0)
    assert "governance/service.py" in data["not_run"] and "bots/web/security.py" not in data["not_run"]
    assert "| `bots/web/security.py` | 208 | 203 | 5 | 1 | 0 | 0 | 100.0% |" in mutation.render_markdown(data)
    assert mutation.merged({"modules": [], "not_run": list(mutation.MODULES)}, None) == {"modules": [], "not_run": list(mutation.MODULES)}


def test_children_below_one_are_refused_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mutation, "RUNS", tmp_path)
    with pytest.raises(SystemExit, match="^--children must be at least 1, got 0$"):
        mutation.run("bots/web/security.py", children=0)
    assert list(tmp_path.iterdir()) == []
