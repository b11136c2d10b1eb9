"""Full backtraces for a report: replay an execution (fuel mode) and stop one thread at one lock event.

An edge's witness knows the execution, the event's number in it and the
thread; a replay of that execution with a probe recorder traps that thread
exactly there, and the trap's backtrace is the acquisition's full wasm
backtrace (ThreadSanitizer's two-sided report). Epoch and os runs cannot
be replayed: their report keeps the one-frame call site.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ...instrument.locks import LockInstrumentation
from .graph import Cycle, LockOrderGraph, Taken
from .recorder import ExecutionRecord, Probe, Recorder

if TYPE_CHECKING:
    from ...instrument import ModuleRewriter
    from ...runtime.loading.program import Program
    from ...runtime.settings import RunSettings

__all__ = ["ProbeExtension", "take_backtraces"]


class ProbeExtension:
    """A replay of one execution that stops a thread at one lock event (same pass, so the same program)."""

    def __init__(self, pass_key: str, instrument: Callable[[ModuleRewriter, dict[int, str]], LockInstrumentation],
                 graph: LockOrderGraph, probe: Probe, *, pass_cache_key: str | None = None) -> None:
        self.pass_key = pass_key
        self.pass_cache_key = pass_cache_key  # the check's (extensions.py): the replay finds its program kept
        self._instrument = instrument
        self._graph = graph
        self.probe = probe
        self.recorder: Recorder | None = None

    def instrument(self, rw: ModuleRewriter, names: dict[int, str]) -> LockInstrumentation:
        return self._instrument(rw, names)

    def attach(self, program: Program, settings: RunSettings) -> Recorder:
        self.recorder = Recorder(self._graph, self.pass_key, program, settings, 0, probe=self.probe)
        return self.recorder


def take_backtraces(cycles: Sequence[Cycle], budget: int, execution: Callable[[int], ExecutionRecord | None],
                    extension: Callable[[Probe], ProbeExtension]) -> None:
    """Give both acquisitions of every witness of `cycles` their full backtrace, or a note why not.

    At most `budget` replays; `execution(number)` finds an execution's record,
    `extension(probe)` makes the replay's extension.
    """
    for cycle in cycles:
        for w in cycle.witnesses:
            for taken in (w.taken, w.held):
                if taken.frames is not None or taken.note is not None:
                    continue
                if budget <= 0:
                    taken.note = "full backtrace not taken (replay budget used up)"
                    continue
                budget -= 1
                _probe(taken, execution(taken.execution), extension)


def _probe(taken: Taken, ex: ExecutionRecord | None, extension: Callable[[Probe], ProbeExtension]) -> None:
    if ex is None or ex.rerun is None:
        mode = ex.settings.preempt.value if ex is not None else None
        taken.note = (f"full backtrace only in fuel mode; this ran in {mode} mode"
                      if mode is not None and mode != "fuel" else "full backtrace not available")
        return
    probe = extension(Probe(taken.seq, taken.tid, taken.where))
    try:
        outcome = ex.rerun([probe])
    except Exception as exc:  # noqa: BLE001  (the replay must never hide the report)
        taken.note = f"full backtrace not available (the replay failed: {exc})"
        return
    rec = probe.recorder
    if rec is None or rec.probe_result is None:
        taken.note = "full backtrace not available (the replay did not reach this acquisition)"
        return
    matched, found = rec.probe_result
    if not matched:
        taken.note = f"full backtrace not available (the replay diverged: it found {found})"
        return
    for t in outcome.threads:
        if t.tid == taken.tid and t.frames:
            frames = list(t.frames)
            site_func = taken.where.split(" (@")[0]
            if not taken.python and frames[0].split(" (@")[0] != site_func:
                # Taken in guest code the host called back into: the trap's backtrace only
                # has the outer guest frames, so keep the call site as the innermost one.
                frames.insert(0, f"{taken.where}  (call site, in a call from the host)")
            taken.frames = frames
            return
    taken.note = "full backtrace not available (no wasm frames)"
