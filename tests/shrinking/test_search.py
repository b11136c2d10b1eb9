"""The shrinking search against a fake program (no wasm): a lost update between two threads."""

from __future__ import annotations

import random
from collections.abc import Sequence

from pytest_wasmconc.schedulers.base import SwitchReason
from pytest_wasmconc.shrinking.policy import Entry, Pick
from pytest_wasmconc.shrinking.search import Attempt, Search, advanced, delayed, preemption_points, shifted, without

# Each thread: 100 units of work; it reads the shared counter after 40 and writes it back after 60.
WORK, READ, WRITE = 100, 40, 60
THREADS = (1, 2)


def simulate(entries: Sequence[Entry]) -> tuple[Attempt, bool]:
    """Play `entries` as the candidate policy does (an entry whose thread is done runs the one that may go
    on; past the list, no preemption), quantum by quantum; whether an update was lost."""
    done = {t: 0 for t in THREADS}
    counter, seen = 0, {}
    ran: list[Entry] = []
    picks: list[Pick] = []
    current: int | None = None
    i = 0
    while any(done[t] < WORK for t in THREADS):
        runnable = tuple(t for t in THREADS if done[t] < WORK)
        live = current if current in runnable else None
        if i < len(entries) and entries[i].thread in runnable:
            chosen, fuel = entries[i].thread, entries[i].fuel
        else:
            chosen = live if live is not None else runnable[0]
            fuel = entries[i].fuel if i < len(entries) else WORK
        reason = SwitchReason.START if current is None and not picks else (
            SwitchReason.PREEMPTED if live is not None else SwitchReason.EXITED)
        picks.append(Pick(runnable, live, reason, chosen))
        ran.append(Entry(chosen, fuel))
        start, end = done[chosen], min(WORK, done[chosen] + fuel)
        if start < READ <= end:
            seen[chosen] = counter
        if start < WRITE <= end:
            counter = seen[chosen] + 1
        done[chosen] = end
        current = chosen
        i += 1
    return Attempt(tuple(ran), tuple(picks)), counter != 2


def evaluate(entries: tuple[Entry, ...]) -> Attempt | None:
    attempt, lost = simulate(entries)
    return attempt if lost else None


def random_failing_schedule(seed: int) -> Attempt:
    """A random schedule of short quanta that loses an update (the kind an exploration finds)."""
    rng = random.Random(seed)
    while True:
        entries = tuple(Entry(rng.choice(THREADS), rng.randint(1, 9)) for _ in range(60))
        attempt = evaluate(entries)
        if attempt is not None and attempt.preemptions > 10:
            return attempt


def test_a_random_lost_update_shrinks_to_one_preemption() -> None:
    for seed in range(20):
        start = random_failing_schedule(seed)
        search = Search(evaluate, lambda: False)
        best = search.run(start)
        assert best.preemptions == 1, seed
        assert evaluate(best.entries) == best  # it still fails, and runs as it did
        assert not search.exhausted and search.candidates < 80


def test_the_search_stops_when_the_budget_does() -> None:
    start = random_failing_schedule(0)
    calls: list[tuple[Entry, ...]] = []

    def counted(entries: tuple[Entry, ...]) -> Attempt | None:
        calls.append(entries)
        return evaluate(entries)

    search = Search(counted, lambda: len(calls) >= 3)
    best = search.run(start)
    assert search.exhausted and search.candidates == len(calls) == 3
    assert best.preemptions <= start.preemptions


def test_only_smaller_schedules_that_fail_the_same_way_are_kept() -> None:
    start = random_failing_schedule(1)
    seen: list[tuple[Entry, ...]] = []

    def never(entries: tuple[Entry, ...]) -> Attempt | None:
        seen.append(entries)
        return None

    search = Search(never, lambda: False)
    assert search.run(start) == start
    assert len(seen) == len(set(seen)) == search.candidates  # each candidate ran once


def test_a_schedule_without_preemptions_is_not_searched() -> None:
    attempt, lost = simulate(())
    assert not lost and attempt.preemptions == 0
    search = Search(evaluate, lambda: False)
    assert search.run(attempt) == attempt and search.candidates == 0


E = Entry


def test_delayed_moves_a_whole_run_to_its_threads_next_quantum() -> None:
    entries = (E(0, 1), E(1, 2), E(1, 3), E(0, 4), E(1, 5))
    assert delayed(entries, 1) == (E(0, 1), E(0, 4), E(1, 2), E(1, 3), E(1, 5))
    assert delayed(entries, 4) == entries  # the last run stays last
    assert delayed((E(0, 1), E(1, 2), E(0, 3)), 1) == (E(0, 1), E(0, 3), E(1, 2))  # no later quantum: the end


def test_advanced_brings_a_threads_next_run_forward() -> None:
    entries = (E(0, 1), E(1, 2), E(2, 3), E(0, 4), E(0, 5), E(1, 6))
    assert advanced(entries, 1, 0) == (E(0, 1), E(0, 4), E(0, 5), E(1, 2), E(2, 3), E(1, 6))
    assert advanced(entries, 1, 7) is None
    assert advanced(entries, 1, 1) is None  # already there


def test_without_removes_several_preemptions_last_first() -> None:
    entries = (E(0, 1), E(1, 1), E(0, 1), E(1, 1), E(0, 1))
    assert without(entries, [1, 3]) == (E(0, 1), E(0, 1), E(0, 1), E(1, 1), E(1, 1))


def test_preemption_points_are_switches_away_from_a_thread_that_could_go_on() -> None:
    P, Y = SwitchReason.PREEMPTED, SwitchReason.EXITED
    picks = [Pick((0, 1), None, SwitchReason.START, 0), Pick((0, 1), 0, P, 1), Pick((0, 1), 1, P, 1),
             Pick((0,), None, Y, 0)]
    assert preemption_points(picks) == [1]


def test_shifted_moves_a_preemption_and_cuts_the_schedule_after_it() -> None:
    entries = (E(0, 1), E(0, 2), E(1, 3), E(0, 4), E(0, 5), E(1, 6))
    assert shifted(entries, 2, 1, 0) == (E(0, 1), E(0, 2), E(0, 4), E(1, 3))
    assert shifted(entries, 2, -1, 0) == (E(0, 1), E(1, 3))
    assert shifted(entries, 2, -3, 0) is None and shifted(entries, 2, 3, 0) is None
