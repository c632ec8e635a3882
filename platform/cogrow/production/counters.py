"""Cumulative machine counters turned into produced quantities (pure functions, no database).

A line gateway sends readings of a counter that only ever grows, except when the machine resets it
(a new run starts from 0) or when a fixed-width counter wraps past its maximum back to 0. Each
reading's production is the step from the reading just before it in time:

- the line's first reading is the baseline: it produces 0 (the counter's value then says nothing
  about what was made since we started listening);
- counter >= previous: counter - previous;
- counter < previous, on a line with `counter_max`, when wrapping is the shorter way round
  (the wrapped step is under half the counter's range): counter_max - previous + 1 + counter;
- otherwise the counter was reset: a new run that has produced `counter` units since it began.

Never negative. Readings may arrive late, twice, or out of order: `merge` places them among the
readings already stored and recomputes only the steps that change (the new readings and the reading
right after each of them), so the stored total always equals the total of the readings in time order.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def step(previous: int | None, counter: int, counter_max: int | None = None) -> tuple[int, bool]:
    """What `counter` adds over `previous`, and whether it starts a new run (the counter went backwards)."""
    if previous is None:
        return 0, False
    if counter >= previous:
        return counter - previous, False
    if counter_max is not None and previous <= counter_max:
        wrapped = counter_max - previous + 1 + counter
        if wrapped * 2 < counter_max + 1:
            return wrapped, False
    return counter, True


def produced_in_order(readings: Iterable[tuple[Any, int]], counter_max: int | None = None) -> list[tuple[int, bool]]:
    """The step of each reading of a sequence already in time order."""
    out = []
    previous = None
    for _at, counter in readings:
        out.append(step(previous, counter, counter_max))
        previous = counter
    return out


@dataclass
class Stored:
    """A reading as stored: `id` is None for one this merge adds."""

    read_at: datetime
    counter: int
    produced: int = 0
    new_run: bool = False
    id: int | None = None


@dataclass
class MergeResult:
    inserts: list[Stored] = field(default_factory=list)       # new readings, with their steps
    updates: list[Stored] = field(default_factory=list)       # stored readings whose step changed
    duplicates: list[int] = field(default_factory=list)       # indexes of incoming readings already stored as sent
    conflicts: list[int] = field(default_factory=list)        # indexes of incoming readings that contradict a stored one


def merge(window: Sequence[Stored], incoming: Sequence[tuple[datetime, int]], counter_max: int | None = None) -> MergeResult:
    """Place `incoming` readings among `window` and recompute the steps that change.

    `window` holds, in time order, every stored reading from the one just before the earliest incoming
    reading to the one just after the latest (so neighbours are exact): a new reading that lands first
    has no predecessor at all and is the line's baseline.
    A reading at a time already stored is a duplicate when the counter is the same (ignored) and a
    conflict when it differs; the same time twice within `incoming` follows the same rule.
    """
    result = MergeResult()
    merged: list[Stored] = list(window)
    times = [r.read_at for r in merged]
    fresh: set[int] = set()  # id() of readings added by this merge
    for index, (read_at, counter) in enumerate(incoming):
        position = bisect_left(times, read_at)
        if position < len(times) and times[position] == read_at:
            (result.duplicates if merged[position].counter == counter else result.conflicts).append(index)
            continue
        reading = Stored(read_at=read_at, counter=counter)
        merged.insert(position, reading)
        times.insert(position, read_at)
        fresh.add(id(reading))
    if result.conflicts or not fresh:
        return result
    before = {id(r): (r.produced, r.new_run) for r in merged}
    for position, reading in enumerate(merged):
        is_new = id(reading) in fresh
        follows_new = position > 0 and id(merged[position - 1]) in fresh
        if not (is_new or follows_new):
            continue
        previous = merged[position - 1].counter if position > 0 else None
        reading.produced, reading.new_run = step(previous, reading.counter, counter_max)
        if is_new:
            result.inserts.append(reading)
        elif (reading.produced, reading.new_run) != before[id(reading)]:
            result.updates.append(reading)
    return result


def total(readings: Iterable[Stored]) -> int:
    return sum(r.produced for r in readings)
