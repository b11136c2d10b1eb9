"""The search for a smaller failing schedule, over lists of quanta; no wasm here (unit-tested with fakes).

A schedule is the list of quanta an execution ran, `Entry(thread, fuel)` in
order, with the decision that started each (`Pick`: who could run, who could
have continued). Its size is (preemptions, context switches): a preemption is a
switch away from a thread that could have gone on; fewer of them is a simpler
story, fewer switches of any kind a shorter one.

Candidates are made from the best schedule so far, each run through
`evaluate`, which answers with what actually ran (a candidate is played
leniently and continued without preemption, `policy.CandidatePolicy`) when it
fails the same way, else None. A candidate is kept when it is smaller:

1. Truncation: keep the first j preemptions and let the rest run without any
   (binary search for the smallest j; most of a random schedule's preemptions
   come after the one that did the damage).
2. Removal (ddmin-like, chunks halving down to one): a preemption goes away by
   moving the preempting thread's run of quanta later, to just before that
   thread's next one (`delayed`), or the preempted thread's next run earlier,
   to the preemption (`advanced`). Either move leaves every thread's own sequence of
   quanta as it was, so the other preemptions stay at the same points of each
   thread's work: only the order between threads changes.

Last, each preemption alone: cut there (no preemption from there on), moved
either way, or shifted a few of the preempted thread's quanta later or earlier
and made the last one (`shifted`: a preemption must often fall inside a window
of the preempted thread, and where the schedule first preempted it may not
be). The search stops at a schedule none of these makes smaller, at 0 preemptions, or when `out_of_time` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .policy import Entry, Pick

__all__ = ["SHIFTS", "Attempt", "Search", "advanced", "delayed", "preemption_points", "shifted", "switch_count",
           "without"]

# How far `shifted` moves a preemption, in quanta of the preempted thread, each way: a window the
# preemption must fall into is a few quanta wide at most once runs of quanta were moved together.
SHIFTS = 8


def preemption_points(picks: Sequence[Pick]) -> list[int]:
    return [i for i, p in enumerate(picks) if p.preempts]


def switch_count(picks: Sequence[Pick]) -> int:
    """Decisions that ran another thread than the one before."""
    return sum(1 for a, b in zip(picks, picks[1:]) if a.chosen != b.chosen)


@dataclass(frozen=True)
class Attempt:
    """A schedule that ran and failed the same way: its quanta and its decisions (same length)."""

    entries: tuple[Entry, ...]
    picks: tuple[Pick, ...]

    @property
    def preemptions(self) -> int:
        return len(preemption_points(self.picks))

    @property
    def size(self) -> tuple[int, int]:
        return (self.preemptions, switch_count(self.picks))


def _run_end(entries: Sequence[Entry], i: int) -> int:
    """The end (exclusive) of the run of quanta of one thread that starts at i."""
    j = i + 1
    while j < len(entries) and entries[j].thread == entries[i].thread:
        j += 1
    return j


def delayed(entries: Sequence[Entry], i: int) -> tuple[Entry, ...]:
    """The run of quanta starting at i (one thread's, back to back) moved to just before that thread's
    next quantum (to the end when it has none)."""
    end = _run_end(entries, i)
    moved = list(entries[i:end])
    rest = list(entries[:i]) + list(entries[end:])
    j = next((k for k in range(i, len(rest)) if rest[k].thread == moved[0].thread), len(rest))
    return tuple(rest[:j] + moved + rest[j:])


def advanced(entries: Sequence[Entry], i: int, thread: int) -> tuple[Entry, ...] | None:
    """`thread`'s next run of quanta at or after i moved to position i (None: it has no later quantum)."""
    j = next((k for k in range(i, len(entries)) if entries[k].thread == thread), None)
    if j is None or j == i:
        return None
    end = _run_end(entries, j)
    return tuple(list(entries[:i]) + list(entries[j:end]) + list(entries[i:j]) + list(entries[end:]))


def shifted(entries: Sequence[Entry], i: int, k: int, thread: int) -> tuple[Entry, ...] | None:
    """The preemption at i (of `thread`) made k of that thread's quanta later (k < 0: earlier), and the last
    one: the schedule is cut right after the preempting quantum (no preemption from there on)."""
    if k > 0:
        ahead = [e for e in entries[i:] if e.thread == thread][:k]
        if len(ahead) < k:
            return None
        return tuple(entries[:i]) + tuple(ahead) + (entries[i],)
    behind = i + k
    if behind < 0 or any(e.thread != thread for e in entries[behind:i]):
        return None
    return tuple(entries[:behind]) + (entries[i],)


def without(entries: Sequence[Entry], points: Sequence[int]) -> tuple[Entry, ...]:
    """Every preemption at `points` removed by `delayed`, the last first (a move changes no earlier index)."""
    out = tuple(entries)
    for i in sorted(points, reverse=True):
        out = delayed(out, i)
    return out


class Search:
    """One shrinking search; `candidates` counts the schedules it ran."""

    def __init__(self, evaluate: Callable[[tuple[Entry, ...]], Attempt | None],
                 out_of_time: Callable[[], bool]) -> None:
        self._evaluate = evaluate
        self._out_of_time = out_of_time
        self.candidates = 0
        self.exhausted = False  # True when the search ended because the budget did
        self._tried: set[tuple[Entry, ...]] = set()

    def run(self, start: Attempt) -> Attempt:
        best = self._truncate(start)
        best = self._remove_chunks(best)
        return self._remove_each(best)

    def _try(self, entries: tuple[Entry, ...] | None, best: Attempt) -> Attempt | None:
        """The candidate's attempt when it fails the same way and is smaller than `best`."""
        if entries is None or entries in self._tried or self.exhausted:
            return None
        if self._out_of_time():
            self.exhausted = True
            return None
        self._tried.add(entries)
        self.candidates += 1
        got = self._evaluate(entries)
        return got if got is not None and got.size < best.size else None

    def _truncate(self, best: Attempt) -> Attempt:
        points = preemption_points(best.picks)
        lo, hi = 0, len(points)  # keeping `hi` of them fails the same way (all of them: `best` itself)
        while lo < hi:
            mid = (lo + hi) // 2
            got = self._try(best.entries[:points[mid]], best)
            if got is not None:
                best, hi = got, mid
            else:
                if self.exhausted:
                    break
                lo = mid + 1
        return best

    def _remove_chunks(self, best: Attempt) -> Attempt:
        chunk = len(preemption_points(best.picks)) // 2
        while chunk >= 2 and not self.exhausted:
            points = preemption_points(best.picks)
            start = 0
            while start < len(points) and not self.exhausted:
                got = self._try(without(best.entries, points[start:start + chunk]), best)
                if got is not None:
                    best, points = got, preemption_points(got.picks)
                else:
                    start += chunk
            chunk //= 2
        return best

    def _remove_each(self, best: Attempt) -> Attempt:
        improved = True
        while improved and best.preemptions and not self.exhausted:
            improved = False
            for i in preemption_points(best.picks):
                current = best.picks[i].current
                assert current is not None
                moves = [best.entries[:i], delayed(best.entries, i), advanced(best.entries, i, current)]
                moves += [shifted(best.entries, i, k, current) for d in range(1, SHIFTS + 1) for k in (d, -d)]
                for entries in moves:
                    got = self._try(entries, best)
                    if got is not None:
                        best, improved = got, True
                        break
                if improved or self.exhausted:
                    break
        return best
