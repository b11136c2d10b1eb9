"""The interleaving of a schedule as a reader wants it: the context switches, numbered, each with
where the thread that stopped was and where the next one goes on.

Where a thread was comes from a replay paused right at the switch (`schedulers.base.Pause`):
the driver stops every thread there and takes its backtrace, so a preempted thread's innermost
frames are the exact point it was preempted. The frames are the reports' own (Program.frame_text:
offsets of the guest file as `wasm-objdump -d` shows them, `file.c:LINE` with DWARF); `place` picks
the ones a switch shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..runtime.outcome import ThreadReport
from ..schedulers.base import SwitchReason
from .policy import Pick

__all__ = ["OFFSETS_NOTE", "Switch", "place", "render_switches", "switch_points"]

OFFSETS_NOTE = "offsets of the guest file"
_FRAMES_SHOWN = 2  # the innermost frame and its caller


def label(tid: int | None) -> str:
    return "thread ?" if tid is None else ("thread 0 (main)" if tid == 0 else f"thread {tid}")


def place(frames: Sequence[str]) -> str:
    """Where a thread stands, from its backtrace (innermost first): 'f (@0x1a2) in g (@0x3b4)'."""
    return " in ".join(frames[:_FRAMES_SHOWN])


@dataclass(frozen=True)
class Switch:
    """One context switch: before decision `decision`, `left` stopped (`how`) and `to` ran."""

    decision: int
    left: int | None
    how: str  # "preempted", "preempted at a scheduling point", "blocked", "exited", ...
    to: int
    left_at: str | None = None  # place() of `left`, or None when not probed
    to_at: str | None = None  # where `to` goes on; "starts" for a thread that has not run yet

    alone: bool = False  # no decision: `to` was the only thread that could run (the driver asked no policy)

    def render(self, number: int) -> str:
        where = f" in {self.left_at}" if self.left_at else ""
        if self.alone:
            going = " alone (the only thread that could run)"
        elif self.to_at == "starts":
            going = " (starts)"
        else:
            going = f" from {self.to_at}" if self.to_at else ""
        return f"  {number}. {label(self.left)} {self.how}{where} -> {label(self.to)} runs{going}"


_HOW = {
    SwitchReason.PREEMPTED: "preempted",
    SwitchReason.YIELDED: "preempted at a scheduling point",
    SwitchReason.GAVE_UP: "gave up the processor (sched_yield)",
    SwitchReason.SPAWNED: "preempted after creating a thread",
    SwitchReason.BLOCKED: "blocked",
    SwitchReason.EXITED: "exited",
    SwitchReason.START: "started",
}


def switch_points(picks: Sequence[Pick]) -> list[Switch]:
    """Every decision that ran another thread than the one that ran last (places not yet known)."""
    out = []
    last: int | None = None
    for i, p in enumerate(picks):
        before = p.current if p.current is not None else last
        if p.current is not None and last is not None and p.current != last:
            # `current` ran since the last decision without one: it was the only thread that could run.
            out.append(Switch(i, last, "stopped", p.current, alone=True))
        if before is not None and p.chosen != before:
            out.append(Switch(i, before, _HOW.get(p.reason, p.reason.value), p.chosen))
        last = p.chosen
    return out


def located(switch: Switch, threads: Sequence[ThreadReport]) -> Switch:
    """`switch` with both threads' places, from the threads of an execution paused right at it."""
    by_tid = {t.tid: t for t in threads}
    left = by_tid.get(switch.left) if switch.left is not None else None
    to = by_tid.get(switch.to)
    how, left_at = switch.how, None
    if left is not None:
        left_at = place(left.frames) or None
        if switch.alone:
            # Seen at the next decision, where it may have been woken again: a thread that stopped with no
            # decision and can run now had blocked (one that could have gone on would have been a choice).
            how = {"parked": "blocked", "finished": "exited"}.get(left.state, "blocked (and was woken since)")
        if left.waiting_on and how == "blocked":
            left_at = f"{left.waiting_on}" + (f", at {left_at}" if left_at else "")
        if how == "exited":
            left_at = None
    elif switch.alone:
        how = "exited"
    to_at = "starts" if to is None or not to.frames else place(to.frames)
    return Switch(switch.decision, switch.left, how, switch.to, left_at, None if switch.alone else to_at,
                  switch.alone)


def render_switches(switches: Sequence[Switch], total: int) -> list[str]:
    lines = [s.render(n) for n, s in enumerate(switches, 1)]
    if total > len(switches):
        lines.append(f"  ... and {total - len(switches)} more context switches")
    return lines
