"""Every `concord …` command named in product code, the README, the Makefile and the CLI's own help is registered."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from bots.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("agent", "bots", "embeddings", "evals", "governance", "ingest", "infra")
# `concord` as a command: after a backtick, a prompt, "Example:", "run", "then", "with", "&&", "(" or a line start.
MENTION = re.compile(r"(?:(?<=`)|(?<=\$ )|(?<=^)|(?<=Example: )|(?<=&& )|(?<=\()|(?<=run )|(?<=then )|(?<=with ))"
                     r"concord((?: +[a-z][a-z0-9-]*)+)", re.MULTILINE)


def _is_group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def _root() -> Any:
    command = typer.main.get_command(app)
    assert _is_group(command)
    return command


def unregistered(words: list[str], root: Any) -> str | None:
    """The first word that is not a command where one is expected, or None when the path is registered."""
    current = root
    for depth, word in enumerate(words):
        if not _is_group(current):
            return None  # a leaf command: what follows are its arguments
        found = current.commands.get(word)
        if found is None:
            defaults_to_build = "build" in current.commands and depth > 0  # `concord report 13` means `report build 13`
            return None if defaults_to_build else word
        current = found
    return None


def _mentions() -> list[tuple[str, str]]:
    files = [ROOT / "README.md", ROOT / "Makefile"]
    for package in PRODUCT:
        files += [p for p in (ROOT / package).rglob("*") if p.suffix in {".py", ".md", ".html", ".toml", ".yml", ".yaml", ".sh"}]
    found = []
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in MENTION.finditer(text):
            found.append((f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}", match.group(1)))
    return found


def _help_mentions(group: Any, prefix: str = "concord") -> list[tuple[str, str]]:
    found = []
    for name, command in group.commands.items():
        for match in MENTION.finditer(command.help or ""):
            found.append((f"help of `{prefix} {name}`", match.group(1)))
        if _is_group(command):
            found += _help_mentions(command, f"{prefix} {name}")
    return found


def test_every_named_command_is_registered() -> None:
    root = _root()
    mentions = _mentions() + _help_mentions(root)
    assert len(mentions) > 50  # the scan finds the commands the code and README name
    bad = [f"{where}: concord{words} ({unregistered(words.split(), root)!r} is not a command)"
           for where, words in mentions if unregistered(words.split(), root)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize(("words", "bad"), [
    ("proposals --dao x", None), ("finetune dataset", "dataset"), ("report 13", None), ("governance recommend", None),
    ("eval nonsense", "nonsense"), ("nonsense", "nonsense"),
])
def test_the_walk_refuses_what_is_not_registered(words: str, bad: str | None) -> None:
    assert unregistered([w for w in words.split() if not w.startswith("-")], _root()) == bad
