"""Cumulative counters to produced units: resets, wraps, duplicates, out-of-order readings and gaps."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from cogrow.production.counters import Stored, merge, produced_in_order, step

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def _t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_first_reading_is_the_baseline():
    assert step(None, 123456) == (0, False)


def test_counter_growth_is_production():
    assert produced_in_order([(1, 10), (2, 15), (3, 15), (4, 40)]) == [(0, False), (5, False), (0, False), (25, False)]


def test_counter_that_goes_backwards_starts_a_new_run_from_zero():
    assert step(500, 30) == (30, True)


def test_wrapping_counter_counts_across_the_wrap():
    assert step(65530, 4, counter_max=65535) == (10, False)


def test_large_drop_on_a_wrapping_counter_is_a_reset_not_a_wrap():
    assert step(20000, 100, counter_max=65535) == (100, True)  # wrapping would mean 45,636 units


def test_never_negative():
    for previous, counter, maximum in [(10, 0, None), (10, 0, 10), (99, 98, 99), (5, 3, 1000), (2**62, 0, None)]:
        produced, _new_run = step(previous, counter, maximum)
        assert produced >= 0


def _store(window, result):
    """Apply a merge result to an in-memory line, as the service does to the table."""
    by_time = {r.read_at: r for r in window}
    for reading in result.inserts:
        by_time[reading.read_at] = reading
    return sorted(by_time.values(), key=lambda r: r.read_at)


def _feed(chunks, counter_max=None):
    """Send chunks of readings one request at a time to an in-memory line; returns the stored readings."""
    stored: list[Stored] = []
    for chunk in chunks:
        if not chunk:
            continue
        earliest, latest = min(t for t, _c in chunk), max(t for t, _c in chunk)
        before = [r for r in stored if r.read_at < earliest][-1:]
        inside = [r for r in stored if earliest <= r.read_at <= latest]
        after = [r for r in stored if r.read_at > latest][:1]
        window = before + inside + after
        result = merge(window, chunk, counter_max)
        assert not result.conflicts
        untouched = [r for r in stored if r not in window]
        stored = sorted(untouched + _store(window, result), key=lambda r: r.read_at)
        for index, reading in enumerate(stored):  # ids for readings now stored
            reading.id = reading.id or index + 1_000_000
    return stored


def test_out_of_order_reading_recomputes_itself_and_its_successor():
    stored = _feed([[(_t(0), 100), (_t(20), 130)], [(_t(10), 110)]])
    assert [(r.counter, r.produced) for r in stored] == [(100, 0), (110, 10), (130, 20)]


def test_out_of_order_reading_before_the_first_becomes_the_baseline():
    stored = _feed([[(_t(10), 110), (_t(20), 130)], [(_t(0), 100)]])
    assert [(r.counter, r.produced) for r in stored] == [(100, 0), (110, 10), (130, 20)]


def test_duplicate_reading_is_ignored_and_a_contradicting_one_is_a_conflict():
    window = [Stored(read_at=_t(0), counter=100, id=1), Stored(read_at=_t(10), counter=120, produced=20, id=2)]
    result = merge(window, [(_t(10), 120)])
    assert result.duplicates == [0] and not result.inserts and not result.updates
    result = merge(window, [(_t(10), 121), (_t(20), 130)])
    assert result.conflicts == [0] and not result.inserts


def test_the_same_time_twice_in_one_request():
    result = merge([], [(_t(0), 5), (_t(0), 5), (_t(1), 9)])
    assert result.duplicates == [1] and [r.produced for r in result.inserts] == [0, 4]
    assert merge([], [(_t(0), 5), (_t(0), 6)]).conflicts == [1]


def test_reset_within_a_sequence_and_a_gap():
    readings = [(_t(0), 0), (_t(1), 50), (_t(2), 80), (_t(600), 10), (_t(601), 25)]  # a 10-hour gap and a reset
    assert [p for p, _r in produced_in_order(readings)] == [0, 50, 30, 10, 15]


# -- property: whatever order and duplication, the total is the in-order total ---------------------------------

@st.composite
def _sequences(draw):
    counter_max = draw(st.one_of(st.none(), st.sampled_from([255, 9999, 65535])))
    ceiling = counter_max if counter_max is not None else 10**6
    size = draw(st.integers(min_value=1, max_value=25))
    minutes = sorted(draw(st.sets(st.integers(min_value=0, max_value=10_000), min_size=size, max_size=size)))
    counters = draw(st.lists(st.integers(min_value=0, max_value=ceiling), min_size=size, max_size=size))
    readings = list(zip((_t(m) for m in minutes), counters))
    shuffled = draw(st.permutations(readings))
    duplicates = draw(st.lists(st.sampled_from(readings), max_size=5))
    sent = list(shuffled) + duplicates
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(sent)), max_size=6)))
    chunks, start = [], 0
    for cut in cuts + [len(sent)]:
        chunks.append(sent[start:cut])
        start = cut
    return readings, chunks, counter_max


@settings(max_examples=300, deadline=None)
@given(_sequences())
def test_any_permutation_or_duplication_gives_the_in_order_total(case):
    readings, chunks, counter_max = case
    stored = _feed(chunks, counter_max)
    expected = produced_in_order(readings, counter_max)
    assert [(r.read_at, r.counter) for r in stored] == readings
    assert [(r.produced, r.new_run) for r in stored] == expected
    assert sum(r.produced for r in stored) == sum(p for p, _n in expected)
    assert all(r.produced >= 0 for r in stored)
