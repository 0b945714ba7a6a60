"""The calibration (reliability) chart, drawn server-side as inline SVG from evaluation results.

It reads what the prediction evaluation wrote to ``evals/results/*.json``; it computes nothing
about proposals itself. Without results it says so rather than drawing an empty chart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

__all__ = ["CalibrationData", "find_reliability_png", "load_calibration", "render_svg"]


@dataclass(frozen=True)
class CalibrationData:
    """Reliability bins: mean predicted probability, observed pass rate and count per bin."""

    source: str
    bins: list[tuple[float, float, int]]
    ece: float | None = None
    n: int | None = None


def _bins_from(data: Any) -> list[tuple[float, float, int]]:
    """Accept the shapes an evaluation may write: a list of bin objects, or parallel arrays."""
    if isinstance(data, dict):
        for key in ("reliability", "calibration", "reliability_bins", "bins"):
            if key in data:
                return _bins_from(data[key])
        if "mean_predicted" in data and ("observed" in data or "fraction_positive" in data):
            pred = data["mean_predicted"]
            obs = data.get("observed", data.get("fraction_positive"))
            counts = data.get("count", data.get("counts", [1] * len(pred)))
            return [(float(p), float(o), int(c)) for p, o, c in zip(pred, obs, counts, strict=False) if c]
        return []
    if isinstance(data, list):
        bins = []
        for item in data:
            if not isinstance(item, dict):
                continue
            p = item.get("mean_predicted", item.get("predicted", item.get("p_mean", item.get("confidence"))))
            o = item.get("observed", item.get("fraction_positive", item.get("frac_pos", item.get("accuracy"))))
            c = item.get("n", item.get("count", 1))
            if p is not None and o is not None and c:
                bins.append((float(p), float(o), int(c)))
        return bins
    return []


def load_calibration(results_dir: Path) -> CalibrationData | None:
    """The first results file (newest first) that holds reliability bins, or None. Files are parsed again only
    when one of them changed (name, size or modification time), not on every page view."""
    if not results_dir.is_dir():
        return None
    stamped = []
    for path in results_dir.glob("*.json"):
        try:
            info = path.stat()
        except OSError:
            continue
        stamped.append((path.name, info.st_size, info.st_mtime_ns))
    return _calibration_of(results_dir, tuple(sorted(stamped)))


@lru_cache(maxsize=8)
def _calibration_of(results_dir: Path, stamped: tuple[tuple[str, int, int], ...]) -> CalibrationData | None:
    files = [results_dir / name for name, _, _ in sorted(stamped, key=lambda s: s[2], reverse=True)]
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        model = data.get("model", data) if isinstance(data, dict) else data
        bins = _bins_from(model) or _bins_from(data)
        if bins:
            ece = model.get("ece") if isinstance(model, dict) else None
            n = data.get("n") if isinstance(data, dict) else None
            return CalibrationData(source=path.name, bins=bins, ece=ece, n=n)
    return None


def find_reliability_png(results_dir: Path) -> Path | None:
    """The newest reliability diagram PNG the evaluation wrote (``concord eval predict --out``), or None."""
    if not results_dir.is_dir():
        return None
    found = sorted(results_dir.glob("*reliability*.png"), key=lambda p: p.stat().st_mtime, reverse=True)
    return found[0] if found else None


def render_svg(data: CalibrationData, *, size: int = 320) -> str:
    """An SVG reliability diagram: the diagonal, and one dot per bin sized by its count."""
    pad = 40
    inner = size - 2 * pad

    def x(v: float) -> float:
        return pad + max(0.0, min(1.0, v)) * inner

    def y(v: float) -> float:
        return size - pad - max(0.0, min(1.0, v)) * inner

    biggest = max(c for _, _, c in data.bins)
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" id="calibration-chart" role="img" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}"><title>Calibration: predicted probability vs observed pass rate</title>'
        ),
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" fill="#fafafa" stroke="#999"/>',
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#bbb" stroke-dasharray="4 3"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{x(tick)}" y="{size - pad + 14}" font-size="10" text-anchor="middle">{tick:g}</text>')
        parts.append(f'<text x="{pad - 6}" y="{y(tick) + 3}" font-size="10" text-anchor="end">{tick:g}</text>')
    points = sorted(data.bins)
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(p):.1f},{y(o):.1f}" for i, (p, o, _) in enumerate(points))
    parts.append(f'<path d="{path}" fill="none" stroke="#3060c0" stroke-width="1.5"/>')
    for p, o, c in points:
        r = 3 + 6 * (c / biggest) ** 0.5
        parts.append(
            f'<circle class="bin" cx="{x(p):.1f}" cy="{y(o):.1f}" r="{r:.1f}" fill="#3060c0" fill-opacity="0.7">'
            f"<title>predicted {p:.2f}, observed {o:.2f}, n={c}</title></circle>"
        )
    parts.append(f'<text x="{size / 2}" y="{size - 6}" font-size="11" text-anchor="middle">predicted P(pass)</text>')
    parts.append(
        f'<text x="12" y="{size / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 {size / 2})">'
        "observed pass rate</text>"
    )
    caption = f"source: {escape(data.source)}" + (f", ECE {data.ece:.3f}" if isinstance(data.ece, int | float) else "")
    parts.append(f'<text x="{pad}" y="{pad - 10}" font-size="10">{caption}</text></svg>')
    return "".join(parts)
