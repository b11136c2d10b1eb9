"""A timeline as one self-contained HTML page: an inline SVG of the thread lanes, readable offline.

No script, no stylesheet and no font from anywhere else: the page is the
SVG the code below draws, a little CSS, and a tooltip (`<title>`) on every
shape. One lane per guest thread: its lifetime as a thin line, running
quanta in green, parked intervals coloured by what they wait for (a lock, a
join, anything else), ticks for host calls, marks for lock acquisitions and
releases, arrows from each notify to the thread it woke and from each spawn
to the new thread, and the failure in red: the trapping thread, the blocked
threads of a deadlock with arrows to the holders of the locks they wait for.
"""

from __future__ import annotations

import html
import math
from typing import Any

from .model import (
    CALL,
    EXIT,
    FAILURE,
    LOCK,
    NOTIFY,
    PARKED,
    RACE,
    RUN,
    SPAWN,
    SPAWNED,
    WAITS_FOR,
    WOKE,
    YIELD,
    Timeline,
)

__all__ = ["MAX_SHAPES", "html_page"]

# Shapes drawn at most: a longer execution shows its last stretch (the end explains a failure).
MAX_SHAPES = 30_000

_LABEL_W = 230  # the thread-name column
_LANE_H = 54
_AXIS_H = 34
_BAR_Y, _BAR_H = 16, 20  # a span's bar within its lane
_MIN_W, _MAX_W = 1120, 16_000
_TAIL_W = 290  # past the end: the waits that never ended, and a deadlock's wait-for arrows
_CLOSE_UP_SPANS = 60  # a close-up shows about this many spans before the end

COLORS = {
    "run": "#43a047", "lock": "#e4572e", "join": "#6f7fd0", "sleep": "#9e9e9e", "parked": "#f2a93b",
    "call": "#1e88e5", "acquired": "#8e24aa", "released": "#ce93d8", "acquiring": "#8e24aa",
    "notify": "#00897b", "spawn": "#546e7a", "exit": "#212121", "failure": "#d32f2f", "life": "#cfd8dc",
    "yield": "#90a4ae",
}

_CSS = """
body{font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:18px 22px;
color:#212121;background:#fff}
h1{font-size:19px;margin:0 0 2px}h1 .bad{color:#d32f2f}h1 .ok{color:#2e7d32}
.sub{color:#546e7a;margin-bottom:8px}.notes{color:#8d6e63;margin:4px 0}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:8px 0 10px;align-items:center}
.legend span{display:inline-flex;align-items:center;gap:5px}
.sw{display:inline-block;width:22px;height:11px;border-radius:2px}
.view{display:flex;border:1px solid #e0e0e0;border-radius:4px}
.names{flex:none;background:#fafafa;border-right:1px solid #e0e0e0}
.scroll{overflow-x:auto;flex:1}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
.fail{color:#d32f2f}ul{margin:6px 0 0 18px;padding:0}h2{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;margin-top:6px}td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
th{color:#546e7a;font-weight:600}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _nice_step(span_us: float, target: int) -> float:
    raw = max(span_us / max(target, 1), 1e-3)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _time(ns: float, unit_ms: bool) -> str:
    us = ns / 1000
    if unit_ms:
        return f"{us / 1000:.{3 if us < 10_000 else 2}f}".rstrip("0").rstrip(".") + " ms"
    return f"{us:.3f}".rstrip("0").rstrip(".") + " µs"


def _park_style(args: dict[str, Any], label: str) -> str:
    if "lock" in args:
        return "lock"
    if "joined" in args or args.get("in") == "pthread_join":
        return "join"
    if label.startswith("sleep"):
        return "sleep"
    return "parked"


class _View:
    """One drawing of the lanes from `t0` to the end, and a tail past the end for what never ended."""

    def __init__(self, tl: Timeline, t0: int, tail: bool) -> None:
        self.tl = tl
        self.rows = {lane.tid: n for n, lane in enumerate(tl.lanes)}
        self.t0 = t0
        span = max(tl.end - t0, 1)
        busiest = max([sum(1 for s in tl.spans if s.tid == lane.tid and s.end >= t0) for lane in tl.lanes] or [0])
        self.width = int(min(max(_MIN_W, busiest * 6 + (_TAIL_W if tail else 0)), _MAX_W))
        self.tail = _TAIL_W if tail else 0
        self.end_x = self.width - self.tail - 14
        self.scale = (self.end_x - 6) / span  # px per ns
        self.height = _AXIS_H + _LANE_H * max(len(tl.lanes), 1) + 6
        # A failure's arrows (a deadlock's wait-for edges, race pairs) stand side by side at the tail's right end.
        edges = sum(1 for a in tl.arrows if a.kind in (WAITS_FOR, RACE))
        self.edge_xs = [self.width - 34 - 30 * n for n in range(edges)] if self.tail else []
        self.unit_ms = span >= 2_000_000

    def x(self, ns: float) -> float:
        return round((max(ns, self.t0) - self.t0) * self.scale + 6, 2)

    def y(self, tid: int) -> int:
        return _AXIS_H + _LANE_H * self.rows.get(tid, 0)

    def svg(self) -> str:
        parts = [f'<svg width="{self.width}" height="{self.height}">', _markers()]
        parts += self.lanes() + self.axis() + self.arrows() + self.spans() + self.instants() + self.failure()
        parts.append("</svg>")
        return "".join(parts)

    # -- pieces ---------------------------------------------------------------------------------------

    def axis(self) -> list[str]:
        tl, out = self.tl, []
        span_ns = max(tl.end - self.t0, 1)
        step_us = _nice_step(span_ns / 1000, max(int(self.end_x) // 120, 4))
        k = math.ceil(self.t0 / 1000 / step_us)
        while k * step_us * 1000 <= tl.end:
            ns = k * step_us * 1000
            x = self.x(ns)
            if x < self.end_x - (50 if self.tail else 280):  # clear of the end's label
                out.append(f'<line x1="{x}" y1="{_AXIS_H - 6}" x2="{x}" y2="{self.height}" stroke="#eceff1"/>')
                out.append(f'<text x="{x + 3}" y="{_AXIS_H - 12}" fill="#607d8b">{_e(_time(ns, self.unit_ms))}'
                           '</text>')
            k += 1
        out.append(f'<line x1="0" y1="{_AXIS_H - 6}" x2="{self.end_x}" y2="{_AXIS_H - 6}" stroke="#b0bec5"/>')
        ex = self.x(tl.end)
        color = COLORS["failure"] if tl.failed else "#455a64"
        dash = ' stroke-dasharray="6 4"' if tl.failed else ""
        out.append(f'<line x1="{ex}" y1="{_AXIS_H - 10}" x2="{ex}" y2="{self.height}" stroke="{color}" '
                   f'stroke-width="2"{dash}><title>{_e("end: " + tl.summary)}</title></line>')
        anchor, tx = ("start", ex + 6) if self.tail else ("end", ex - 6)  # no tail: no room right of the end
        out.append(f'<text x="{tx}" y="{_AXIS_H - 12}" text-anchor="{anchor}" fill="{color}" font-weight="600" '
                   f'paint-order="stroke" stroke="#fff" stroke-width="4">'
                   f'{_e("end: " + tl.summary)} ({_e(_time(tl.end, self.unit_ms))})</text>')
        return out

    def lanes(self) -> list[str]:
        out = []
        for lane in self.tl.lanes:
            y = self.y(lane.tid)
            if self.rows[lane.tid] % 2:
                out.append(f'<rect x="0" y="{y}" width="{self.width}" height="{_LANE_H}" fill="#f7f9fa"/>')
            end = lane.end if lane.end is not None else self.tl.end
            if end < self.t0:
                continue
            x1, x2 = self.x(lane.start), self.x(end)
            cy = y + _BAR_Y + _BAR_H / 2
            out.append(f'<line x1="{x1}" y1="{cy}" x2="{x2}" y2="{cy}" stroke="{COLORS["life"]}" stroke-width="2">'
                       f'<title>{_e(lane.name)}: alive (runnable while not running)</title></line>')
        return out

    def spans(self) -> list[str]:
        out = []
        for s in self.tl.spans:
            if s.end < self.t0:
                continue
            x1, x2 = self.x(s.start), self.x(s.end)
            w = max(x2 - x1, 1.5)
            y = self.y(s.tid) + _BAR_Y
            style = "run" if s.kind == RUN else _park_style(s.args, s.label)
            what = "running" if s.kind == RUN else f"parked: {s.label}"
            extra = "; ".join(f"{k}: {v}" for k, v in s.args.items())
            tip = (f"thread {s.tid} {what}, {_time(s.start, False)} to {_time(s.end, False)} "
                   f"({_time(s.end - s.start, False)})" + (f"; {extra}" if extra else ""))
            h = _BAR_H if s.kind == RUN else _BAR_H - 4
            dy = 0 if s.kind == RUN else 2
            out.append(f'<rect x="{x1}" y="{y + dy}" width="{round(w, 2)}" height="{h}" rx="2" '
                       f'fill="{COLORS[style]}"><title>{_e(tip)}</title></rect>')
            forever = s.kind == PARKED and s.args.get("result") == "never woken" and self.tail
            if forever:  # still parked at the end: on into the tail, labelled there
                tx = self.x(s.end)
                tw = self.width - tx - 8
                room = (min(self.edge_xs) - 12 if self.edge_xs else self.width - 8) - (tx + 14)
                out.append(f'<rect x="{tx}" y="{y + dy}" width="{round(tw, 2)}" height="{h}" rx="2" '
                           f'fill="url(#fade-{style})"><title>{_e(tip)}</title></rect>')
                out.append(f'<text x="{tx + 14}" y="{y + dy + h - 4}" fill="#fff" font-weight="600">'
                           f'{_e(_fit(s.label, room))}<title>{_e(tip)}</title></text>')
            elif s.kind == PARKED and w > 60:
                out.append(f'<text x="{x1 + 4}" y="{y + dy + h - 4}" fill="#fff">{_e(_fit(s.label, w - 8))}</text>')
        return out

    def instants(self) -> list[str]:
        out = []
        for i in self.tl.instants:
            if i.tid is None or i.kind == FAILURE or i.ts < self.t0:
                continue
            x, y = self.x(i.ts), self.y(i.tid)
            tip = _e(f"thread {i.tid} at {_time(i.ts, False)}: {i.label}" +
                     "".join(f"; {k}: {v}" for k, v in i.args.items()))
            bottom = y + _BAR_Y + _BAR_H
            if i.kind == CALL:
                out.append(f'<line x1="{x}" y1="{bottom + 2}" x2="{x}" y2="{bottom + 11}" stroke="{COLORS["call"]}" '
                           f'stroke-width="2"><title>{tip}</title></line>')
            elif i.kind == YIELD:
                out.append(f'<line x1="{x}" y1="{bottom + 4}" x2="{x}" y2="{bottom + 9}" stroke="{COLORS["yield"]}" '
                           f'stroke-width="1.5"><title>{tip}</title></line>')
            elif i.kind == LOCK:
                out.append(_lock_mark(x, y + _BAR_Y - 2, i.label.split(" ")[0], tip))
            elif i.kind == NOTIFY:
                out.append(f'<circle cx="{x}" cy="{bottom + 6}" r="3.5" fill="{COLORS["notify"]}">'
                           f'<title>{tip}</title></circle>')
            elif i.kind == SPAWN:
                out.append(f'<circle cx="{x}" cy="{y + _BAR_Y + _BAR_H / 2}" r="3" fill="#fff" '
                           f'stroke="{COLORS["spawn"]}" stroke-width="1.5"><title>{tip}</title></circle>')
            elif i.kind == EXIT:
                out.append(f'<rect x="{x - 1.5}" y="{y + _BAR_Y - 4}" width="3" height="{_BAR_H + 8}" '
                           f'fill="{COLORS["exit"]}"><title>{tip}</title></rect>')
        return out

    def arrows(self) -> list[str]:
        out = []
        for a in self.tl.arrows:
            if a.kind in (WAITS_FOR, RACE) or max(a.src_ts, a.dst_ts) < self.t0:
                continue  # a failure's arrows are drawn with it, on top
            color = COLORS["notify"] if a.kind == WOKE else COLORS["spawn"]
            dash = ' stroke-dasharray="4 3"' if a.kind == SPAWNED else ""
            out.append(self._arrow(self.x(a.src_ts), a.src_tid, self.x(a.dst_ts), a.dst_tid, color, 1.3, a.label,
                                   dash, "woke" if a.kind == WOKE else "spawn"))
        return out

    def _arrow(self, x1: float, src: int, x2: float, dst: int, color: str, width: float, label: str, dash: str,
               marker: str, bend: float = 0.0) -> str:
        mid = _BAR_Y + _BAR_H / 2
        y1, y2 = self.y(src) + mid, self.y(dst) + mid
        if y1 != y2:  # from the middle of one bar to the edge of the other
            y2 += -_BAR_H / 2 - 1 if y2 > y1 else _BAR_H / 2 + 1
        cx = (x1 + x2) / 2 + bend
        return (f'<path d="M{x1},{y1} Q{cx},{(y1 + y2) / 2} {x2},{y2}" fill="none" stroke="{color}" '
                f'stroke-width="{width}"{dash} marker-end="url(#{marker})"><title>{_e(label)}</title></path>')

    def failure(self) -> list[str]:
        tl, out = self.tl, []
        marks: dict[tuple[int, int], list[str]] = {}  # one cross per thread and moment, however many reasons
        for i in tl.instants:
            if i.kind == FAILURE and i.tid is not None and i.tid in self.rows:
                labels = marks.setdefault((i.tid, i.ts), [])
                if i.label not in labels:
                    labels.append(i.label)
        for (tid, ts), labels in marks.items():
            x = self.x(ts)
            y = self.y(tid) + _BAR_Y + _BAR_H / 2
            tip = _e("\n".join(labels))
            out.append(f'<g stroke="{COLORS["failure"]}" stroke-width="3" stroke-linecap="round">'
                       f'<line x1="{x - 6}" y1="{y - 6}" x2="{x + 6}" y2="{y + 6}"/>'
                       f'<line x1="{x - 6}" y1="{y + 6}" x2="{x + 6}" y2="{y - 6}"/><title>{tip}</title></g>')
            shown = [label for label in labels if not label.startswith("blocked: ")]  # those are in the tail
            if shown:
                more = f" (+{len(shown) - 1} more)" if len(shown) > 1 else ""
                edges = (min(self.edge_xs) - 10) if self.edge_xs else self.width - 8
                room = (edges - x - 10) if self.tail else max(x - 20, self.width - x - 16)
                anchor, tx = ("start", x + 10) if self.tail or x < self.width * 0.55 else ("end", x - 10)
                text = _fit(shown[0], room - 6.6 * len(more)) + more
                out.append(f'<text x="{tx}" y="{y - 13}" text-anchor="{anchor}" fill="{COLORS["failure"]}" '
                           f'font-weight="600">{_e(text)}<title>{tip}</title></text>')
        waits = [a for a in tl.arrows if a.kind in (WAITS_FOR, RACE)]
        for n, a in enumerate(waits):
            # In the tail, side by side: each blocked thread's edge to the thread it waits for.
            x = self.edge_xs[n] if self.edge_xs else self.x(tl.end)
            dash = ' stroke-dasharray="5 3"' if a.kind == RACE else ""
            out.append(self._arrow(x, a.src_tid, x, a.dst_tid, COLORS["failure"], 2.4, a.label, dash, "waits",
                                   bend=18))
        return out


def _fit(text: str, px: float) -> str:
    """`text` cut to about `px` pixels of 12px type."""
    n = int(px / 6.6)
    return text if len(text) <= n else text[: max(n - 1, 1)] + "…"


def _lock_mark(x: float, top: float, what: str, tip: str) -> str:
    if what == "acquired":
        pts, fill = f"{x - 5},{top} {x + 5},{top} {x},{top - 8}", COLORS["acquired"]
    elif what == "released":
        pts, fill = f"{x - 5},{top - 8} {x + 5},{top - 8} {x},{top}", COLORS["released"]
    else:  # acquiring, not acquired
        pts, fill = f"{x - 4},{top - 4} {x},{top - 8} {x + 4},{top - 4} {x},{top}", "#fff"
    return (f'<polygon points="{pts}" fill="{fill}" stroke="{COLORS["acquired"]}" stroke-width="1">'
            f"<title>{tip}</title></polygon>")


def _window_start(tl: Timeline) -> int:
    """Where the drawing starts: 0, or late enough that at most MAX_SHAPES shapes are drawn."""
    times = sorted([s.start for s in tl.spans] + [i.ts for i in tl.instants])
    if len(times) <= MAX_SHAPES:
        return 0
    start = times[-MAX_SHAPES]
    tl.notes.append(f"the page draws the last {MAX_SHAPES} events, from {_time(start, False)} on "
                    "(the trace JSON has them all)")
    return start


def _close_up_start(tl: Timeline, t0: int) -> int | None:
    """Where a close-up of the last stretch starts, when the whole view squeezes it (None: no close-up)."""
    starts = sorted(s.start for s in tl.spans if s.start >= t0)
    if len(starts) < 2 * _CLOSE_UP_SPANS:
        return None
    start = starts[-_CLOSE_UP_SPANS]
    return start if tl.end - start < 0.3 * (tl.end - t0) else None


def _legend() -> str:
    items = [
        ("run", "running (a quantum)"), ("lock", "parked on a lock"), ("join", "parked in a join"),
        ("parked", "parked (futex, other wait)"), ("sleep", "sleeping"),
    ]
    out = [f'<span><i class="sw" style="background:{COLORS[k]}"></i>{_e(t)}</span>' for k, t in items]
    out.append(f'<span><i class="sw" style="height:2px;background:{COLORS["life"]}"></i>runnable</span>')
    out.append(f'<span><svg width="12" height="12"><line x1="6" y1="1" x2="6" y2="11" stroke="{COLORS["call"]}" '
               'stroke-width="2"/></svg>host call (WASI)</span>')
    out.append(f'<span><svg width="26" height="12"><polygon points="1,11 11,11 6,3" fill="{COLORS["acquired"]}"/>'
               f'<polygon points="15,3 25,3 20,11" fill="{COLORS["released"]}" stroke="{COLORS["acquired"]}"/>'
               '</svg>lock acquired / released</span>')
    out.append(f'<span><svg width="30" height="12"><circle cx="4" cy="6" r="3.5" fill="{COLORS["notify"]}"/>'
               f'<line x1="9" y1="6" x2="28" y2="6" stroke="{COLORS["notify"]}" stroke-width="1.5"/></svg>'
               'notify → woken thread</span>')
    out.append(f'<span><svg width="26" height="12"><line x1="1" y1="6" x2="25" y2="6" stroke="{COLORS["spawn"]}" '
               'stroke-width="1.5" stroke-dasharray="4 3"/></svg>spawn</span>')
    out.append(f'<span><i class="sw" style="width:3px;height:14px;background:{COLORS["exit"]}"></i>exit</span>')
    out.append(f'<span class="fail"><b>✕</b> failure <svg width="26" height="12"><line x1="1" y1="6" x2="25" '
               f'y2="6" stroke="{COLORS["failure"]}" stroke-width="2.2"/></svg>waits for (deadlock)</span>')
    return '<div class="legend">' + "".join(out) + "</div>"


def _markers() -> str:
    def marker(name: str, color: str) -> str:
        return (f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
                f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')

    def fade(style: str) -> str:  # a wait that never ended, fading out past the end
        return (f'<linearGradient id="fade-{style}"><stop offset="0" stop-color="{COLORS[style]}"/>'
                f'<stop offset="1" stop-color="{COLORS[style]}" stop-opacity="0.35"/></linearGradient>')

    return ("<defs>" + marker("woke", COLORS["notify"]) + marker("spawn", COLORS["spawn"])
            + marker("waits", COLORS["failure"]) + "".join(fade(k) for k in ("lock", "join", "sleep", "parked"))
            + "</defs>")


def _names(view: _View, tl: Timeline) -> str:
    """The thread-name column beside a view: each lane's name and its state at the end."""
    out = [f'<svg width="{_LABEL_W}" height="{view.height}">',
           f'<text x="10" y="{_AXIS_H - 12}" fill="#607d8b">{tl.clock} time →</text>']
    for lane in tl.lanes:
        y = view.y(lane.tid)
        if view.rows[lane.tid] % 2:
            out.append(f'<rect x="0" y="{y}" width="{_LABEL_W}" height="{_LANE_H}" fill="#f2f4f5"/>')
        out.append(f'<text x="10" y="{y + 22}" font-weight="600">{_e(lane.name)}</text>')
        state = _short_state(tl, lane.tid, lane.final_state)
        if state:
            out.append(f'<text x="10" y="{y + 39}" fill="#78909c">{_e(_fit(state, _LABEL_W - 16))}'
                       f"<title>{_e(lane.final_state)}</title></text>")
    out.append("</svg>")
    return "".join(out)


def _short_state(tl: Timeline, tid: int, state: str) -> str:
    """"parked in memory.atomic.wait32 @ 0x54c (expected 2)" -> "parked: lock 0x54c (pthread_mutex_lock)"."""
    if state.startswith("parked"):
        for s in reversed(tl.spans):
            if s.tid == tid and s.kind == PARKED:
                label = s.label.split(": futex ")[0] if ": futex " in s.label else s.label.split(" (")[0]
                return f"parked: {label}"
    return state


def _view_block(view: _View, tl: Timeline, heading: str) -> str:
    return (f'<h2>{_e(heading)}</h2><div class="view"><div class="names">{_names(view, tl)}</div>'
            f'<div class="scroll">{view.svg()}</div></div>')


def html_page(tl: Timeline) -> str:
    """The page (a str of HTML5): header, legend, the lanes (and a close-up of the end), the failure, each
    thread's state at the end."""
    t0 = _window_start(tl)
    tail = any(s.kind == PARKED and s.args.get("result") == "never woken" for s in tl.spans) or \
        any(a.kind in (WAITS_FOR, RACE) for a in tl.arrows)
    views = [_view_block(_View(tl, t0, tail), tl, "The whole execution" if t0 == 0 else "The last stretch")]
    close = _close_up_start(tl, t0)
    if close is not None:
        views.append(_view_block(_View(tl, close, tail), tl,
                                 f"Close-up: the last {_time(tl.end - close, tl.end - close >= 2_000_000)}"))
    clock = ("virtual time (fuel mode: 1 unit of fuel ≈ 1 ns of guest work)" if tl.clock == "virtual"
             else f"wall-clock time ({tl.mode} mode)")
    verdict = f'<span class="{"bad" if tl.failed else "ok"}">{_e(tl.summary)}</span>'
    facts = " · ".join(f"{k} {v}" for k, v in tl.info.items() if k not in ("status", "mode"))
    name = tl.title.replace("\\", "/").rsplit("/", 1)[-1]
    failures = [i for i in tl.instants if i.kind == FAILURE]
    details = ""
    if failures:
        items = dict.fromkeys(f"<li>{_e(('thread ' + str(i.tid) + ': ') if i.tid is not None else '')}"
                              f"{_e(i.label)} (at {_e(_time(i.ts, False))})</li>" for i in failures)
        details = '<h2>What failed</h2><ul class="fail">' + "".join(items) + "</ul>"
        waits = [a for a in tl.arrows if a.kind == WAITS_FOR]  # a race's pair is in its marks already
        if waits:
            details += "<ul>" + "".join(f"<li>{_e(a.label)}</li>" for a in waits) + "</ul>"
        if any(a.kind == RACE for a in tl.arrows):
            details += ("<p>The race check names each racing access's thread and code, not its moment: the "
                        "marks stand at the end.</p>")
    states = "".join(f"<tr><td>{_e(lane.name)}</td><td>{_e(lane.final_state or '-')}</td></tr>" for lane in tl.lanes)
    notes = "".join(f'<div class="notes">note: {_e(n)}</div>' for n in tl.notes)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_e(name)}: {_e(tl.summary)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(name)}: {verdict}</h1>"
        f'<div class="sub">{_e(tl.title)} · {_e(clock)}{" · " + _e(facts) if facts else ""}</div>{notes}'
        f"{_legend()}{''.join(views)}{details}"
        f"<h2>Threads at the end</h2><table>{states}</table>"
        "</body></html>\n"
    )
