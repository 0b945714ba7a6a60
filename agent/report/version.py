"""The version of the code that builds a report: the report schema plus a SHA-256 over every file that decides a
report's content (report building, argument units and their trained head, camps, stance, prediction, the quality
gate). A stored report whose builder version differs from the running code's is stale, like one whose inputs changed.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from agent.report.model import SCHEMA_VERSION

__all__ = ["BUILDER_CODE", "builder_version"]

_AGENT = Path(__file__).resolve().parents[1]
#: What a report's content depends on, relative to the ``agent`` package (folders are read whole, caches skipped).
BUILDER_CODE: tuple[str, ...] = ("report", "units", "camps", "stance", "predict", "quality_gate.py", "stance_llm.py")


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for name in BUILDER_CODE:
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return sorted(found)


def code_digest(root: Path = _AGENT) -> str:
    """SHA-256 over the builder code's relative paths and bytes."""
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def builder_version() -> str:
    """``concord.report/2+code.<12 hex>`` for the running code (computed once per process)."""
    return f"{SCHEMA_VERSION}+code.{code_digest()[:12]}"
