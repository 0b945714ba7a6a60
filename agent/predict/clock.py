"""Estimate wall-clock time from an Ethereum block number, for proposals that give only start/end blocks."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

__all__ = ["BlockClock"]

# Ethereum mainnet anchors (block, unix time) that are public knowledge: block 10,000,000; the London fork block;
# the first proof-of-stake block after the Merge. Anchors from the data (votes with block and time) are added.
_MAINNET_ANCHORS: tuple[tuple[int, float], ...] = (
    (10_000_000, 1_588_599_172.0),
    (12_965_000, 1_628_166_822.0),
    (15_537_394, 1_663_224_179.0),
)
_PRE_MERGE_SECONDS = 13.3
_POST_MERGE_SECONDS = 12.0


class BlockClock:
    """Piecewise-linear block -> time map through known anchors; beyond them, 13.3 s (pre-Merge) or 12 s per block."""

    def __init__(self, anchors: Iterable[tuple[int, float]] = ()) -> None:
        points = dict(_MAINNET_ANCHORS)
        for block, ts in anchors:
            points[int(block)] = float(ts)
        ordered = sorted(points.items())
        # keep a monotone subsequence (noisy anchors must not make time run backwards)
        blocks: list[int] = []
        times: list[float] = []
        for block, ts in ordered:
            if times and ts <= times[-1]:
                continue
            blocks.append(block)
            times.append(ts)
        self._blocks = blocks
        self._times = times

    @staticmethod
    def _rate(block: int) -> float:
        return _POST_MERGE_SECONDS if block >= 15_537_394 else _PRE_MERGE_SECONDS

    def time_of(self, block: int) -> float:
        """Estimated unix time of ``block``."""
        blocks, times = self._blocks, self._times
        i = bisect.bisect_left(blocks, block)
        if i < len(blocks) and blocks[i] == block:
            return times[i]
        if i == 0:
            return times[0] - (blocks[0] - block) * self._rate(block)
        if i == len(blocks):
            return times[-1] + (block - blocks[-1]) * self._rate(block)
        b0, b1, t0, t1 = blocks[i - 1], blocks[i], times[i - 1], times[i]
        return t0 + (t1 - t0) * (block - b0) / (b1 - b0)
