"""One list of rule names: every refusal in governance names a Rule, and the README lists exactly the enum."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from governance.errors import GovernanceRefusal, Rule

ROOT = Path(__file__).resolve().parents[2]


def test_readme_lists_exactly_the_rule_names() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- governance-rules:start -->(.*?)<!-- governance-rules:end -->", readme, re.DOTALL)
    assert block is not None, "README.md lost its governance-rules block"
    listed = re.findall(r"`([a-z_]+)`", block.group(1))
    assert listed == [rule.value for rule in Rule]


def test_every_refusal_in_the_code_names_a_rule_member() -> None:
    """No refusal is raised with a bare string: each ``GovernanceRefusal(...)`` call's first argument is ``Rule.X``
    or a value computed from the enum (a field difference's rule)."""
    calls = 0
    for path in sorted((ROOT / "governance").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "GovernanceRefusal":
                calls += 1
                first = node.args[0]
                assert not isinstance(first, ast.Constant), f"{path.name}:{node.lineno} refuses with a bare string {first.value!r}"
    assert calls >= 30


def test_a_refusal_with_an_unknown_rule_is_a_bug() -> None:
    import pytest

    with pytest.raises(ValueError):
        GovernanceRefusal("no_such_rule", "x")  # type: ignore[arg-type]
    assert GovernanceRefusal(Rule.THRESHOLD, "x").rule is Rule.THRESHOLD
