"""Mutation testing per module: each module is mutated alone, against the fast tests that cover it.

mutmut first runs the whole test selection once to learn which tests cover which function, so one selection for
all modules would run the EVM and browser tests before any mutant. Here every module gets its own run folder
(``.mutation/<module>/``, git-ignored) holding links to the sources and tests and a ``pyproject.toml`` whose
``[tool.mutmut]`` names that module and its tests only.

    python -m evals.mutation run bots/web/security.py     # mutate one module (nice -n 19, one child)
    python -m evals.mutation score                         # table of every module run so far
    python -m evals.mutation score --out evals/results/mutation.json   # ...merged into the results file

The score is killed / (total - equivalent); mutants judged equivalent are listed with the reason in
``evals/data/mutation_equivalents.json`` (name -> why) and printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / ".mutation"
EQUIVALENTS = ROOT / "evals" / "data" / "mutation_equivalents.json"
SOURCE_DIRS = ("agent", "ingest", "embeddings", "governance", "bots", "evals")
FAST = "not llm and not browser and not slow and not chain"

# module -> the fast tests that exercise it (mutmut runs, per mutant, only those of them that cover the function)
MODULES: dict[str, list[str]] = {
    "bots/web/security.py": ["tests/bots/test_web_security_rules.py"],
    "agent/report/faithfulness.py": ["tests/evals/test_faithfulness_checker.py"],
    "governance/policy.py": ["tests/governance/test_policy_rules.py"],
    "governance/binding.py": ["tests/governance/test_policy_rules.py"],
    "governance/signatures.py": ["tests/governance/test_signature_rules.py"],
    "agent/predict/walkforward.py": ["tests/agent/predict/test_walkforward_rules.py"],
    "ingest/writer.py": ["tests/ingest/test_writer_rules.py"],
    "ingest/pipeline.py": ["tests/ingest/test_pipeline_rules.py"],
    "governance/audit.py": ["tests/governance/test_audit_rules.py"],
    "governance/audit_checkpoints.py": ["tests/governance/test_audit_checkpoint_rules.py"],
    "governance/audit_refusals.py": ["tests/governance/test_audit_refusal_rules.py"],
    "governance/service.py": ["tests/governance/test_service_rules.py"],
}

STATUS_BY_EXIT_CODE = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
                       36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
                       -11: "segfault", -9: "segfault", None: "not checked"}


def slug(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def run_dir(module: str) -> Path:
    return RUNS / slug(module)


def module_config(module: str) -> str:
    tests = MODULES[module]
    markers = FAST
    lines = [
        "[tool.mutmut]",
        f"source_paths = {json.dumps(list(SOURCE_DIRS))}",
        f"only_mutate = {json.dumps([module])}",
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        f'pytest_add_cli_args = ["-p", "no:cacheprovider", "-m", "{markers}", "-x", "-q"]',
        "use_git_change_detection = false",
    ]
    return "\n".join(lines) + "\n"


def pyproject_for(module: str) -> str:
    """The project's pyproject.toml (pytest settings included) with its [tool.mutmut] section replaced."""
    text = (ROOT / "pyproject.toml").read_text()
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    return text.rstrip() + "\n\n" + module_config(module)


def prepare(module: str) -> Path:
    if module not in MODULES:
        raise SystemExit(f"unknown module {module!r}; known: {', '.join(MODULES)}")
    folder = run_dir(module)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*SOURCE_DIRS, "tests"):
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    (folder / "pyproject.toml").write_text(pyproject_for(module))
    return folder


def mutmut() -> str:
    found = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or shutil.which("mutmut")
    if not found:
        raise SystemExit("mutmut is not installed: pip install 'mutmut>=3.8,<4' (it is in the dev extras)")
    return found


def run(module: str, *, fresh: bool = False, names: list[str] | None = None, children: int = 1) -> int:
    """mutmut on ``module``; with ``names``, those mutants again (mutmut keeps earlier verdicts otherwise).

    ``children``: mutants checked at once (each niced). mutmut reads nothing from stdin: it gets /dev/null, so a run
    started in the background of a terminal is not stopped (SIGTTIN) the first time a test touches stdin.
    """
    if children < 1:
        raise SystemExit(f"--children must be at least 1, got {children}")
    folder = prepare(module)
    if fresh:
        shutil.rmtree(folder / "mutants", ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    command = ["nice", "-n", "19", mutmut(), "run", "--max-children", str(children), *(names or [])]
    return subprocess.call(command, cwd=folder, env=env, stdin=subprocess.DEVNULL)


def not_killed(module: str) -> list[str]:
    meta = run_dir(module) / "mutants" / (module + ".meta")
    if not meta.exists():
        raise SystemExit(f"{module} has not been run yet: python -m evals.mutation run {module}")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return sorted(name for name, code in codes.items() if STATUS_BY_EXIT_CODE.get(code, "suspicious") != "killed")


@dataclass
class Score:
    module: str
    counts: dict[str, int]
    equivalent: list[str]
    survivors: list[str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def score(self) -> float | None:
        considered = self.total - len(self.equivalent) - self.counts.get("not checked", 0)
        return self.counts.get("killed", 0) / considered if considered else None


def load_equivalents() -> dict[str, str]:
    return json.loads(EQUIVALENTS.read_text()) if EQUIVALENTS.exists() else {}


def score_of(module: str, equivalents: dict[str, str]) -> Score | None:
    meta = run_dir(module) / "mutants" / (module + ".meta")
    if not meta.exists():
        return None
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    counts: dict[str, int] = {}
    equivalent, survivors = [], []
    for name, code in sorted(codes.items()):
        status = STATUS_BY_EXIT_CODE.get(code, "suspicious")
        if name in equivalents and status != "killed":
            equivalent.append(name)
        elif status != "killed":
            survivors.append(f"{name} ({status})")
        counts[status] = counts.get(status, 0) + 1
    return Score(module, counts, equivalent, survivors)


def results(scores: list[Score], equivalents: dict[str, str]) -> dict[str, Any]:
    """The JSON written to ``evals/results/mutation.json`` (what the README block renders)."""
    return {
        "tool": "mutmut 3 (mutates function bodies only: module-level constants are not mutated)",
        "command": "python -m evals.mutation run MODULE && python -m evals.mutation score --out evals/results/mutation.json",
        "load_average_at_scoring": [round(x, 2) for x in os.getloadavg()],
        "modules": [
            {
                "module": s.module,
                "tests": MODULES[s.module],
                "total": s.total,
                "killed": s.counts.get("killed", 0),
                "survived": s.counts.get("survived", 0),
                "equivalent": {name: equivalents[name] for name in s.equivalent},
                "no_tests": s.counts.get("no tests", 0),
                "timeout": s.counts.get("timeout", 0),
                "not_checked": s.counts.get("not checked", 0),
                "score": None if s.score is None or s.counts.get("not checked") else round(s.score, 4),
                "left": s.survivors,
            }
            for s in scores
        ],
        "not_run": [m for m in MODULES if m not in {s.module for s in scores}],
    }


def merged(data: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` with the rows of modules not scored here kept from ``previous`` (the results file written before).

    Runs live in git-ignored folders, so a machine that ran only some modules has only their results: their rows are
    replaced, every other module keeps the row (figures, equivalents, survivors) of the scoring that measured it, and
    ``kept`` names those rows.
    """
    if not previous:
        return data
    fresh = {m["module"]: m for m in data["modules"]}
    earlier = {m["module"]: m for m in previous.get("modules", [])}
    rows, kept = [], []
    for module in MODULES:
        if module in fresh:
            rows.append(fresh[module])
        elif module in earlier:
            rows.append(earlier[module])
            kept.append(module)
    return {**data, "modules": rows, "kept": kept, "not_run": [m for m in MODULES if m not in fresh and m not in earlier]}


def render_markdown(data: dict[str, Any]) -> str:
    """The README table: one row per module, score = killed / (mutants - equivalent)."""
    lines = [
        "| module | mutants | killed | survived | of which equivalent | timeout | not checked | score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in data["modules"]:
        score = "incomplete" if m["not_checked"] else ("–" if m["score"] is None else f"{100 * m['score']:.1f}%")
        lines.append(f"| `{m['module']}` | {m['total']} | {m['killed']} | {m['survived'] + m['no_tests']} | "
                     f"{len(m['equivalent'])} | {m['timeout']} | {m['not_checked']} | {score} |")
    for module in data["not_run"]:
        lines.append(f"| `{module}` | not run | | | | | | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.mutation", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="mutate the given modules (all when none), one after the other")
    r.add_argument("modules", nargs="*")
    r.add_argument("--fresh", action="store_true", help="forget earlier results of these modules")
    r.add_argument("--children", type=int, default=1, help="mutants checked at once, each niced (default 1)")
    again = sub.add_parser("rerun", help="check every mutant not yet killed again (after adding tests)")
    again.add_argument("modules", nargs="+")
    again.add_argument("--children", type=int, default=1, help="mutants checked at once, each niced (default 1)")
    sc = sub.add_parser("score", help="print the per-module table and what still survives")
    sc.add_argument("--out", type=Path, help="also write the results JSON here (evals/results/mutation.json); rows of "
                    "modules not run on this machine are kept from the file already there")
    args = parser.parse_args(argv)
    if args.command == "run":
        for module in args.modules or list(MODULES):
            code = run(module, fresh=args.fresh, children=args.children)
            if code:
                print(f"mutmut failed on {module} (exit {code})", file=sys.stderr)
                return code
        return 0
    if args.command == "rerun":
        for module in args.modules:
            names = not_killed(module)
            code = run(module, names=names, children=args.children) if names else 0
            if code:
                return code
        return 0
    equivalents = load_equivalents()
    scores = [s for m in MODULES if (s := score_of(m, equivalents))]
    data = results(scores, equivalents)
    if args.out and args.out.exists():
        data = merged(data, json.loads(args.out.read_text(encoding="utf-8")))
    print(render_markdown(data), end="")
    for module in data.get("kept", []):
        print(f"kept {module}: not run here, its row is the one already in {args.out}")
    for m in data["modules"]:
        for name, why in m["equivalent"].items():
            print(f"equivalent {name}: {why}")
        for name in m["left"]:
            print(f"left {name}")
    if args.out:
        args.out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
