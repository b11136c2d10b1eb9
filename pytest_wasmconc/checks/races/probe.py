"""Full backtraces for a race report: replay the execution (fuel mode) and stop one thread at one access.

An access knows its thread and its number among that thread's reports; a
replay of the execution with a probe recorder traps the thread exactly
there, and the trap's backtrace is the access's full wasm backtrace, for the
earlier access of a race as much as the later one. Epoch and os runs cannot
be replayed: their report keeps the accessing function and offset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .access_pass import RaceInstrumentation
from .detector import Access
from .recorder import Probe, Recorder

if TYPE_CHECKING:
    from ...instrument import ModuleRewriter
    from ...runtime.extensions import Rerun
    from ...runtime.loading.program import Program
    from ...runtime.settings import RunSettings

__all__ = ["ProbeExtension", "backtrace_of"]


class ProbeExtension:
    """A replay of one execution that stops a thread at one access (same pass, so the same program)."""

    def __init__(self, pass_key: str, instrument: Callable[[ModuleRewriter, dict[int, str]], RaceInstrumentation],
                 probe: Probe, recorder: type[Recorder] = Recorder, *, pass_cache_key: str | None = None) -> None:
        self.pass_key = pass_key
        self.pass_cache_key = pass_cache_key  # the check's (extensions.py): the replay finds its program kept
        self._instrument = instrument
        self.probe = probe
        self._recorder_type = recorder  # the Python one or the native one: both number reports alike
        self.recorder: Recorder | None = None

    def instrument(self, rw: ModuleRewriter, names: dict[int, str]) -> RaceInstrumentation:
        return self._instrument(rw, names)

    def attach(self, program: Program, settings: RunSettings) -> Recorder:
        self.recorder = self._recorder_type(self.pass_key, program, settings, 0, probe=self.probe)
        return self.recorder


def backtrace_of(access: Access, rerun: Rerun, extension: Callable[[Probe], ProbeExtension]) -> list[str] | str:
    """The access's wasm frames (innermost first), or a note saying why there are none."""
    probe = extension(Probe(access.tid, access.seq, access.site))
    try:
        outcome = rerun([probe])
    except Exception as exc:  # noqa: BLE001  (the replay must never hide the report)
        return f"full backtrace not available (the replay failed: {exc})"
    rec = probe.recorder
    if rec is None or rec.probe_result is None:
        return "full backtrace not available (the replay did not reach this access)"
    matched, found = rec.probe_result
    if not matched:
        return f"full backtrace not available (the replay diverged: it found {found})"
    for t in outcome.threads:
        if t.tid == access.tid and t.frames:
            return list(t.frames)
    return "full backtrace not available (no wasm frames)"
