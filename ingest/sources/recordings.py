"""Reading recorded API payloads (the bundled sample, or any recording a test writes)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from ingest.core.errors import InputError

__all__ = ["load_recording", "SAMPLE_DIR"]

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample" / "data"


def load_recording(path: Path) -> Any:
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise InputError(f"Cannot read recording {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"Recording {path} is not valid JSON: {exc}") from exc
