"""What a user reads about streams: violations with their backtrace, sequence mismatches, the history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ...runtime.outcome import Outcome, Status
from ...wasi.p2.events import SEQUENCE_KINDS, Event
from ...wasi.p2.model import StreamWorld
from .checker import Violation
from .sequence import Mismatch, Pattern, compile_pattern

__all__ = ["Expect", "StreamVerdict", "judge", "render_history"]

Expect = str | Sequence[str] | Mapping[str, str | Sequence[str]] | None
_HISTORY_TAIL = 40


@dataclass
class StreamVerdict:
    """What the stream check concludes about one execution."""

    world: StreamWorld | None = None
    violations: list[Violation] = field(default_factory=list)
    mismatches: list[tuple[str, Mismatch]] = field(default_factory=list)
    hang: bool = False
    text: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.violations or self.mismatches or self.hang)

    def output(self, stream: str = "stdout") -> bytes:
        """The bytes the guest's flushes delivered on `stream`."""
        return self.world.output(stream) if self.world is not None else b""


def sequence_of(world: StreamWorld, stream: str) -> list[Event]:
    """The events of `stream` that `expect` patterns are matched against."""
    return [e for e in world.events if e.stream == stream and e.kind in SEQUENCE_KINDS]


def _patterns(expect: Expect, world: StreamWorld) -> dict[str, Pattern]:
    if expect is None:
        return {}
    if isinstance(expect, Mapping):
        return {name: compile_pattern(p) for name, p in expect.items()}
    pattern = compile_pattern(expect)  # type: ignore[arg-type]
    names = [n for n in world.by_name if sequence_of(world, n)]
    return {name: pattern for name in names or ["stdout"]}


def judge(world: StreamWorld, outcome: Outcome, expect: Expect = None) -> StreamVerdict:
    """Violations, sequence mismatches and hangs of one execution, rendered for a report."""
    if outcome.status is Status.EXITED:
        world.exit(thread=0, halt=False)  # main returned: the exit checks run now (no backtrace to give)
    verdict = StreamVerdict(world=world, violations=[v for v in world.findings if isinstance(v, Violation)])
    verdict.hang = outcome.status in (Status.DEADLOCK, Status.HANG)
    if not verdict.violations and not verdict.hang:
        for name, pattern in _patterns(expect, world).items():
            mismatch = pattern.match(sequence_of(world, name))
            if mismatch is not None:
                verdict.mismatches.append((name, mismatch))
    lines: list[str] = []
    for v in verdict.violations:
        lines.append(f"stream protocol violation: {v.summary()}")
        lines += _backtrace_lines(v, outcome)
    for name, mismatch in verdict.mismatches:
        lines.append(f"stream sequence mismatch: {mismatch.explain(name)}")
        lines.append(f"  expected pattern: {_patterns(expect, world)[name].source}")
    if verdict.hang:
        parked = [t for t in outcome.threads if t.waiting_on]
        where = "; ".join(f"{t.label} in {t.waiting_on}" for t in parked) or "see the threads below"
        lines.append(f"the guest {'deadlocked' if outcome.status is Status.DEADLOCK else 'hung'} with its streams "
                     f"in this state: {where}")
    if verdict.failed:
        focus = [v.index for v in verdict.violations] + [m.event.index for _, m in verdict.mismatches if m.event]
        lines += render_history(world, focus=min(focus) if focus else None)
    verdict.text = "\n".join(lines)
    return verdict


def _backtrace_lines(v: Violation, outcome: Outcome) -> list[str]:
    thread = next((t for t in outcome.threads if t.tid == v.thread), None)
    trapped_here = outcome.status is Status.TRAPPED and outcome.trap_message and \
        "stream protocol violation" in outcome.trap_message
    if thread is not None and thread.frames and trapped_here:
        return [f"  guest backtrace ({thread.label}):"] + [f"    at {fr}" for fr in thread.frames]
    if v.kind == "unflushed-at-exit":
        return ["  guest backtrace: none (the guest returned from its entry point)"]
    return ["  guest backtrace: not captured (the guest went on after the violation)"]


def render_history(world: StreamWorld, tail: int = _HISTORY_TAIL, focus: int | None = None) -> list[str]:
    """Each stream's state and events: the last `tail`, or those leading up to event `focus`."""
    lines = [f"stream history ({world.describe()}; {world.step} stream operations):"]
    for name, s in world.by_name.items():
        events = world.events_of(name)
        lines.append(f"  {name}: {s.describe_state()}; {len(events)} events")
        end = len(events)
        if focus is not None:
            end = min(end, next((i + 1 for i, e in enumerate(events) if e.index >= focus), end) + 3)
        shown = events[max(0, end - tail):end]
        if len(events) > len(shown) and shown and shown[0] is not events[0]:
            lines.append(f"    ... {events.index(shown[0])} earlier events")
        lines += [f"    {e.render()}" for e in shown]
        if end < len(events):
            lines.append(f"    ... {len(events) - end} later events")
    if world.dropped_events:
        lines.append(f"  ({world.dropped_events} later events were not kept)")
    return lines
