"""Folding refusals per client and rule, on an injected clock (governance/audit_refusals.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from governance.audit_refusals import (
    SUMMARY_ACTION,
    RefusalAggregator,
    RefusalScope,
    Summary,
    current_scope,
    refusals_from,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = T0 + timedelta(seconds=seconds)


def test_the_summary_entry_is_named_refuse_summary() -> None:
    assert SUMMARY_ACTION == "refuse_summary"


def test_the_first_refusal_per_client_and_rule_is_written_the_rest_counted() -> None:
    clock = Clock()
    agg = RefusalAggregator(window_seconds=60, clock=clock)
    assert agg.admit(client="a", rule="csrf", subject="s1") == (True, [])
    assert agg.admit(client="a", rule="csrf", subject="s2") == (False, [])
    assert agg.admit(client="a", rule="csrf", subject="s3") == (False, [])
    assert agg.admit(client="a", rule="other", subject="x") == (True, [])  # another rule: its own window
    assert agg.admit(client="b", rule="csrf", subject="y") == (True, [])  # another client: its own window
    clock.at(59.9)
    assert agg.admit(client="a", rule="csrf", subject="s4") == (False, [])
    clock.at(60)
    written, due = agg.admit(client="c", rule="csrf", subject="z")
    assert written is True
    assert due == [Summary("a", "csrf", 3, T0, 60, "s4")]  # windows with nothing counted close silently
    assert agg.admit(client="a", rule="csrf", subject="again") == (True, [])  # a new window


def test_pending_summaries_empty_every_window() -> None:
    clock = Clock()
    agg = RefusalAggregator(window_seconds=30, clock=clock)
    agg.admit(client="a", rule="r", subject="1")
    agg.admit(client="a", rule="r", subject="2")
    agg.admit(client="b", rule="r", subject="3")
    assert agg.pending_summaries() == [Summary("a", "r", 1, T0, 30, "2")]
    assert agg.pending_summaries() == []
    assert agg.admit(client="a", rule="r", subject="4") == (True, [])


def test_too_many_clients_are_folded_into_one_window_per_rule() -> None:
    clock = Clock()
    agg = RefusalAggregator(window_seconds=60, clock=clock, max_keys=2)
    assert agg.admit(client="a", rule="r", subject="1")[0] and agg.admit(client="b", rule="r", subject="2")[0]
    assert agg.admit(client="c", rule="r", subject="3") == (True, [])  # the first of the folded ones is written
    assert agg.admit(client="d", rule="r", subject="4") == (False, [])
    assert agg.admit(client="e", rule="q", subject="5") == (True, [])  # another rule: its own folded window
    assert agg.admit(client="b", rule="r", subject="6") == (False, [])  # a known client keeps its window
    assert agg.pending_summaries() == [Summary("b", "r", 1, T0, 60, "6"), Summary("*", "r", 1, T0, 60, "4")]


def test_the_default_key_cap_is_ten_thousand() -> None:
    # behaviour at the cap is tested above with a small cap; filling 10,000 keys costs O(n^2) time (every admit
    # walks all windows), so the default itself is read here
    assert RefusalAggregator(window_seconds=60).max_keys == 10_000


def test_the_default_clock_is_now() -> None:
    agg = RefusalAggregator(window_seconds=3600)
    agg.admit(client="a", rule="r", subject="1")
    agg.admit(client="a", rule="r", subject="2")
    (summary,) = agg.pending_summaries()
    assert abs((summary.window_start - datetime.now(UTC)).total_seconds()) < 60


def test_concurrent_refusals_are_each_written_or_counted_once() -> None:
    agg = RefusalAggregator(window_seconds=3600, clock=Clock())
    written: list[bool] = []
    lock = threading.Lock()

    def refuse() -> None:
        for _ in range(50):
            ok, _ = agg.admit(client="a", rule="r", subject="s")
            with lock:
                written.append(ok)

    threads = [threading.Thread(target=refuse) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert written.count(True) == 1
    assert agg.pending_summaries()[0].count == 399


def test_the_scope_is_set_only_inside_the_block() -> None:
    agg = RefusalAggregator(window_seconds=1)
    assert current_scope() is None
    with refusals_from(agg, client="203.0.113.5"):
        assert current_scope() == RefusalScope(agg, "203.0.113.5")
        with refusals_from(agg, client="inner"):
            assert current_scope() == RefusalScope(agg, "inner")
        assert current_scope() == RefusalScope(agg, "203.0.113.5")
    assert current_scope() is None
    try:
        with refusals_from(agg, client="x"):
            raise ValueError
    except ValueError:
        pass
    assert current_scope() is None


class CountingTime(datetime):
    """A time that counts how often a window's age is taken from it."""

    looks = 0

    def __sub__(self, other):  # type: ignore[no-untyped-def, override]
        CountingTime.looks += 1
        return super().__sub__(other)


def test_a_refusal_looks_only_at_the_windows_it_closes_not_at_every_clients() -> None:
    """Many clients' open windows: each refusal checks the oldest window and stops (a flood from many addresses does
    not make every refusal walk them all), and the windows that are over still close, oldest first."""
    start = CountingTime(2024, 1, 1, tzinfo=UTC)
    times = iter([start + timedelta(seconds=i) for i in range(1000)] + [start + timedelta(seconds=999)] * 2)  # one a second
    agg = RefusalAggregator(window_seconds=60, clock=lambda: next(times))
    for i in range(1000):
        CountingTime.looks = 0
        admitted, due = agg.admit(client=f"10.0.{i // 256}.{i % 256}", rule="csrf", subject=f"s{i}")
        assert admitted and due == []  # every client's first refusal is written; no window had anything counted
        assert CountingTime.looks <= 2  # at most one window closed and the first one still open looked at
    assert agg.admit(client="10.0.3.172", rule="csrf", subject="again")[0] is False  # i = 940: its minute is not over
    assert agg.admit(client="10.0.3.171", rule="csrf", subject="again")[0] is True  # i = 939: over, closed, new window
