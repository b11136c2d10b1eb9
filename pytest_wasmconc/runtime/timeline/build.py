"""From the recorder's event tuples to a `Timeline`: spans per lane, instants, arrows, the failure marked.

The recorder appends raw tuples in the order things happened (recorder.py);
this pairs them up: a quantum's begin and end make a running span, a park and
the wake that ended it a parked span (labelled with the lock being acquired,
when a lock acquisition is in progress), a notify and each thread it woke an
arrow. At the end the failure is marked: the trapping thread, every thread a
deadlock left blocked with arrows to the holders of the locks they wait for,
the thread that exited with a failing code, a hang.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model import (
    CALL,
    EXIT,
    LOCK,
    NOTIFY,
    PARKED,
    RUN,
    SPAWN,
    SPAWNED,
    WAITS_FOR,
    WOKE,
    YIELD,
    Arrow,
    Instant,
    Lane,
    Span,
    Timeline,
)

if TYPE_CHECKING:
    from ..outcome import Outcome

__all__ = ["build_timeline"]


@dataclass
class _Thread:
    lane: Lane
    run_start: int | None = None
    park: tuple[int, str, dict[str, Any]] | None = None
    acquiring: tuple[int, str] | None = None  # (lock, function) of a blocking acquisition in progress
    held: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    woken_by: tuple[int, int, int] | None = None  # (notifier, when, address) of the notify that woke it


def _short_wait(describe: str) -> str:
    """"memory.atomic.wait32 @ 0x54c (expected 2)" -> "futex 0x54c" (the whole text stays in the args)."""
    if describe.startswith("memory.atomic.wait") and " @ " in describe:
        return "futex " + describe.split(" @ ", 1)[1].split(" ", 1)[0]
    return describe


def _waiting_function(frames: list[str]) -> str | None:
    """The innermost public function of a parked thread's backtrace ("pthread_join", "pthread_cond_wait")."""
    for frame in frames:
        name = frame.split(" (", 1)[0].strip()
        if name and not name.startswith("_"):
            return name
    return None


def _label(tid: int) -> str:
    return "thread 0 (main)" if tid == 0 else f"thread {tid}"


class _Builder:
    def __init__(self, tl: Timeline) -> None:
        self.tl = tl
        self.threads: dict[int, _Thread] = {}
        self.end_event: tuple[int, int | None, str, str] | None = None

    def thread(self, tid: int, ts: int) -> _Thread:
        th = self.threads.get(tid)
        if th is None:  # its creation was dropped (a long execution keeps its last events)
            th = self.threads[tid] = _Thread(Lane(tid, _label(tid), ts))
            self.tl.lanes.append(th.lane)
        return th

    def feed(self, ev: tuple[Any, ...]) -> None:
        kind, ts = ev[0], ev[1]
        tl = self.tl
        if kind == "q0":
            self.thread(ev[2], ts).run_start = ts
        elif kind == "q1":
            tid, reason, step = ev[2], ev[3], ev[4]
            th = self.thread(tid, ts)
            start = th.run_start if th.run_start is not None else ts
            tl.spans.append(Span(tid, start, ts, RUN, "running", {"ended": reason, "step": step}))
            th.run_start = None
            if th.park is not None and th.park[0] < ts:  # parked inside this quantum: from its end on
                th.park = (ts, th.park[1], th.park[2])
        elif kind == "new":
            tid, parent = ev[2], ev[3]
            th = self.thread(tid, ts)
            th.lane.start = ts
            if parent is not None:
                th.lane.spawned_by = parent
                th.lane.name = f"{_label(tid)} (spawned by {parent})"
                tl.instants.append(Instant(parent, ts, SPAWN, f"spawn thread {tid}", {"thread": tid}))
                tl.arrows.append(Arrow(SPAWNED, parent, ts, tid, ts, f"thread {parent} spawned thread {tid}"))
        elif kind == "park":
            tid, describe = ev[2], ev[3]
            th = self.thread(tid, ts)
            args: dict[str, Any] = {"wait": describe}
            label = _short_wait(describe)
            if th.acquiring is not None:
                lock, fn = th.acquiring
                label = f"lock {lock:#x} ({fn})"
                args["lock"] = f"{lock:#x}"
            th.park = (ts, label, args)
        elif kind == "wake":
            tid, result = ev[2], ev[3]
            th = self.thread(tid, ts)
            if th.park is not None:
                start, label, args = th.park
                args = dict(args, result=result)
                if th.woken_by is not None:
                    args["woken by"] = _label(th.woken_by[0])
                tl.spans.append(Span(tid, start, ts, PARKED, label, args))
                th.park = None
            if th.woken_by is not None:
                src, when, addr = th.woken_by
                tl.arrows.append(Arrow(WOKE, src, when, tid, ts, f"notify {addr:#x} woke {_label(tid)}"))
                th.woken_by = None
        elif kind == "notify":
            tid, addr, woken = ev[2], ev[3], ev[4]
            self.thread(tid, ts)
            names = ", ".join(str(w) for w in woken)
            tl.instants.append(Instant(tid, ts, NOTIFY, f"notify {addr:#x} -> {names}",
                                       {"address": f"{addr:#x}", "woke": list(woken)}))
            for w in woken:
                self.thread(w, ts).woken_by = (tid, ts, addr)
        elif kind == "yield":
            tl.instants.append(Instant(ev[2], ts, YIELD, "sched_yield"))
        elif kind == "call":
            tid, name, args_, result = ev[2], ev[3], ev[4], ev[5]
            self.thread(tid, ts)
            shown: dict[str, Any] = {"args": list(args_)}
            if result is not None:
                shown["result"] = result if isinstance(result, (int, float, str)) else repr(result)
            tl.instants.append(Instant(tid, ts, CALL, name, shown))
        elif kind == "lock":
            tid, what, lock, fn, where, blocking = ev[2], ev[3], ev[4], ev[5], ev[6], ev[7]
            th = self.thread(tid, ts)
            if what == "acquiring":
                th.acquiring = (lock, fn)
            elif what == "acquired":
                th.acquiring = None
                th.held[lock] += 1
            elif what == "not acquired":
                th.acquiring = None
            elif what == "released" and th.held.get(lock):
                th.held[lock] -= 1
            tl.instants.append(Instant(tid, ts, LOCK, f"{what} {lock:#x}",
                                       {"lock": f"{lock:#x}", "function": fn, "at": where, "blocking": blocking}))
        elif kind == "exit":
            tid, how = ev[2], ev[3]
            th = self.thread(tid, ts)
            th.lane.end = ts
            tl.instants.append(Instant(tid, ts, EXIT, how))
        elif kind == "end":
            if self.end_event is None:
                self.end_event = (ts, ev[2], ev[3], ev[4])

    def close(self, end: int, os_mode: bool) -> None:
        """Close what is still open at the end; in os mode, running is every stretch not parked."""
        tl = self.tl
        for tid, th in self.threads.items():
            if th.run_start is not None:
                tl.spans.append(Span(tid, th.run_start, end, RUN, "running", {"ended": "execution end"}))
                th.run_start = None
            if th.park is not None:
                start, label, args = th.park
                tl.spans.append(Span(tid, start, max(start, end), PARKED, label, dict(args, result="never woken")))
        if os_mode:
            self._os_runs(end)
        tl.spans.sort(key=lambda s: (s.tid, s.start, s.end))

    def _os_runs(self, end: int) -> None:
        """OS threads have no quanta: a thread runs from its start to its exit except while parked."""
        tl = self.tl
        parks: dict[int, list[Span]] = defaultdict(list)
        for s in tl.spans:
            if s.kind == PARKED:
                parks[s.tid].append(s)
        for lane in tl.lanes:
            cursor = lane.start
            stop = lane.end if lane.end is not None else end
            for p in sorted(parks[lane.tid], key=lambda s: s.start):
                if p.start > cursor:
                    tl.spans.append(Span(lane.tid, cursor, p.start, RUN, "running", {}))
                cursor = max(cursor, p.end)
            if stop > cursor:
                tl.spans.append(Span(lane.tid, cursor, stop, RUN, "running", {}))

    def mark_failure(self, outcome: Outcome, end: int) -> None:
        tl = self.tl
        status = outcome.status.value
        ended_by = self.end_event[1] if self.end_event is not None else None
        if status == "trapped":
            tid = outcome.trap_thread
            message = (outcome.trap_message or "trap").strip().splitlines()[0] if outcome.trap_message else "trap"
            lane = tl.lane(tid) if tid is not None else None
            ts = lane.end if lane is not None and lane.end is not None else end
            tl.mark_failure(tid, f"trap: {message}", ts)
        elif status == "deadlock":
            tl.mark_failure(None, "deadlock: every live thread is blocked", end)
            for tid, th in self.threads.items():
                if th.lane.end is None and any(s.tid == tid and s.kind == PARKED and s.end == end for s in tl.spans):
                    tl.mark_failure(tid, f"blocked: {self._blocked_on(th, tid)}", end)
            self._wait_for_arrows(end)
        elif status == "hang":
            tl.mark_failure(None, f"hang: {outcome.summary()}", end)
        elif status == "exited" and outcome.exit_code not in (0, None) and tl.failed:
            tl.mark_failure(ended_by, f"exited with code {outcome.exit_code}", end)

    def _blocked_on(self, th: _Thread, tid: int) -> str:
        for s in reversed(self.tl.spans):
            if s.tid == tid and s.kind == PARKED:
                return s.label
        return "parked"

    def _wait_for_arrows(self, end: int) -> None:
        """A deadlock's cycle: each blocked thread to the holders of the lock it is acquiring."""
        for tid, th in self.threads.items():
            if th.acquiring is None or th.lane.end is not None:
                continue
            lock, fn = th.acquiring
            for holder, hth in self.threads.items():
                if holder != tid and hth.held.get(lock):
                    self.tl.arrows.append(Arrow(WAITS_FOR, tid, end, holder, end,
                                                f"{_label(tid)} waits for lock {lock:#x}, held by {_label(holder)}"))


def _name_the_waits(tl: Timeline, states: dict[int, Any]) -> None:
    """Say what a parked span waited for where the futex alone does not: a join (the waker exited right after
    its notify), and the function each thread was parked in at the end (from its backtrace)."""
    activity: dict[int, list[int]] = defaultdict(list)
    for i in tl.instants:
        if i.tid is not None and i.kind in (CALL, LOCK, NOTIFY, SPAWN):
            activity[i.tid].append(i.ts)
    notified_at = {(a.dst_tid, a.dst_ts): (a.src_tid, a.src_ts) for a in tl.arrows if a.kind == WOKE}
    for span in tl.spans:
        if span.kind != PARKED or "lock" in span.args:
            continue
        source = notified_at.get((span.tid, span.end))
        if source is not None:
            waker, when = source
            lane = tl.lane(waker)
            if lane is not None and lane.end is not None and not any(when < ts <= lane.end
                                                                     for ts in activity[waker]):
                span.label = f"join {_label(waker)}"
                span.args["joined"] = _label(waker)
        elif span.end == tl.end and span.tid in states:
            fn = _waiting_function(states[span.tid].frames)
            if fn is not None:
                span.label = f"{fn}: {span.label}"
                span.args["in"] = fn


def build_timeline(events: list[tuple[Any, ...]], outcome: Outcome, title: str, *, virtual: bool, dropped: int,
                   end: int) -> Timeline:
    """The timeline of one execution from its recorded events (recorder.py)."""
    tl = Timeline(title=title, clock="virtual" if virtual else "wall", mode=outcome.preempt, end=end,
                  summary=outcome.summary(), failed=outcome.failed())
    b = _Builder(tl)
    for ev in events:
        b.feed(ev)
    if b.end_event is not None:
        end = max(end, b.end_event[0])
    tl.end = end = max([end] + [ev[1] for ev in events[-1:]])
    b.close(end, os_mode=outcome.preempt == "os")
    tl.lanes.sort(key=lambda lane: lane.tid)
    states = {r.tid: r for r in outcome.threads}
    for lane in tl.lanes:
        report = states.get(lane.tid)
        if report is not None:
            lane.final_state = report.state + (f" in {report.waiting_on}" if report.waiting_on else "")
    _name_the_waits(tl, states)
    b.mark_failure(outcome, end)
    tl.info = {"status": outcome.status.value, "steps": outcome.steps, "mode": outcome.preempt}
    if outcome.seed is not None:
        tl.info["schedule seed"] = outcome.seed
    if dropped:
        tl.notes.append(f"the first {dropped} events of this execution were dropped (the last {len(events)} kept)")
    return tl

