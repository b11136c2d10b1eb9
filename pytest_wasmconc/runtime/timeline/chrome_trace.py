"""A timeline as a Chrome trace-event JSON document (Perfetto's UI, chrome://tracing, speedscope open it).

The format ("Trace Event Format", Google): a JSON object whose "traceEvents"
list holds events with `ph` (phase), `ts` (microseconds), `pid`, `tid`,
`name`. Here one process is the guest and each guest thread a thread (its
name from an "M" thread_name event); running quanta and parked intervals are
"X" complete events (`dur`), host calls, lock events, notifies, spawns,
exits and the failure marks are "i" instant events (scope "t": the thread;
"g": the whole trace), and each arrow (a notify and the thread it woke, a
spawn, a deadlock's wait-for) is a flow: an "s" event on its source thread
and an "f" on its target, sharing an `id`, each bound to the slice around it.
Times are the timeline's nanoseconds divided by 1000 (virtual microseconds in
fuel mode).
"""

from __future__ import annotations

import json
from typing import Any

from .model import FAILURE, Span, Timeline

__all__ = ["PID", "chrome_trace", "chrome_trace_json"]

PID = 1
_GLOBAL_TID = 0  # "g" instants still need a tid


def _us(ns: int | float) -> float:
    return ns / 1000


def _inside(spans: list[Span], ts: int) -> int:
    """A time strictly inside the lane's span at `ts` (a flow binds to the slice that encloses it)."""
    for s in spans:
        if s.start <= ts <= s.end and s.end > s.start:
            return ts if ts < s.end else s.end - 1
    return ts


def chrome_trace(tl: Timeline) -> dict[str, Any]:
    """The trace-event document of `tl` (a dict: `json.dumps` it, or use chrome_trace_json)."""
    events: list[dict[str, Any]] = []
    process = f"{tl.title} ({tl.mode} mode, {tl.clock} time)"
    events.append({"ph": "M", "pid": PID, "tid": _GLOBAL_TID, "ts": 0, "name": "process_name",
                   "args": {"name": process}})
    for lane in tl.lanes:
        events.append({"ph": "M", "pid": PID, "tid": lane.tid, "ts": 0, "name": "thread_name",
                       "args": {"name": lane.name}})
        events.append({"ph": "M", "pid": PID, "tid": lane.tid, "ts": 0, "name": "thread_sort_index",
                       "args": {"sort_index": lane.tid}})
    by_lane: dict[int, list[Span]] = {}
    for s in tl.spans:
        by_lane.setdefault(s.tid, []).append(s)
        events.append({"ph": "X", "pid": PID, "tid": s.tid, "ts": _us(s.start), "dur": _us(s.end - s.start),
                       "name": s.label, "cat": s.kind, "args": dict(s.args)})
    for i in tl.instants:
        scope = "g" if i.tid is None else "t"
        events.append({"ph": "i", "s": scope, "pid": PID, "tid": _GLOBAL_TID if i.tid is None else i.tid,
                       "ts": _us(i.ts), "name": i.label, "cat": i.kind, "args": dict(i.args)})
    for n, a in enumerate(tl.arrows, 1):
        src = _inside(by_lane.get(a.src_tid, []), a.src_ts)
        dst = _inside(by_lane.get(a.dst_tid, []), a.dst_ts)
        common = {"pid": PID, "name": a.label, "cat": a.kind, "id": n, "bp": "e"}
        events.append({"ph": "s", "tid": a.src_tid, "ts": _us(src), **common})
        events.append({"ph": "f", "tid": a.dst_tid, "ts": _us(dst), **common})
    failures = [i.label for i in tl.instants if i.kind == FAILURE]
    return {
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": {"title": tl.title, "summary": tl.summary, "failed": tl.failed, "clock": tl.clock,
                      "mode": tl.mode, "end_us": _us(tl.end), "failure": failures, "notes": list(tl.notes),
                      **{k: v for k, v in tl.info.items() if isinstance(v, (int, float, str, bool))}},
    }


def chrome_trace_json(tl: Timeline) -> str:
    return json.dumps(chrome_trace(tl), separators=(",", ":"))
