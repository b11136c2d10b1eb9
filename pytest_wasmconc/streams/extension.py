"""The stream check as a runtime extension: a fresh observed world per execution.

`StreamCheck` is what the CLI (`--check streams`) and the pytest marker
(`wasm_stream_sequence`) hand to the runner. Each execution gets its own
`StreamWorld` (with the `wasmconc_streams` imports for core guests; the
component host picks the world up from the attachment) and, when it ends,
a `StreamVerdict` in `outcome.extra["streams"]`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..runtime.hostapi import HostFunction
from .core import core_functions
from .model import StreamConfig, StreamWorld
from .report import Expect, StreamVerdict, judge
from .sequence import compile_pattern

if TYPE_CHECKING:
    from ..runtime.extensions import Rerun
    from ..runtime.outcome import Outcome
    from ..runtime.loading.program import Program
    from ..runtime.settings import RunSettings

__all__ = ["OUTCOME_KEY", "StreamAttachment", "StreamCheck", "echo_sinks", "verdict_of"]

OUTCOME_KEY = "streams"


def echo_sinks() -> dict[str, Callable[[bytes], None]]:
    """Sinks that copy delivered stream bytes to this process's stdout/stderr."""

    def to(stream: Any) -> Callable[[bytes], None]:
        def write(data: bytes) -> None:
            stream.buffer.write(data)
            stream.buffer.flush()
        return write

    return {"stdout": to(sys.stdout), "stderr": to(sys.stderr)}


class StreamCheck:
    """Observed output streams with backpressure for every execution; optionally checked.

    `check=True` halts the guest at the first protocol violation (so the
    report has the backtrace of the call) and judges each execution
    (violations, `expect` mismatches, hangs); `check=False` only observes.
    """

    pass_key = None

    def __init__(self, config: StreamConfig | None = None, *, expect: Expect = None, check: bool = True,
                 sinks: dict[str, Callable[[bytes], None]] | None = None) -> None:
        base = config or StreamConfig()
        self.check = check
        self.config = StreamConfig(**{**base.__dict__, "halt": check})
        self.expect = expect
        self.sinks = dict(sinks or {})
        if expect is not None:  # fail on a bad pattern now, not after the run
            if isinstance(expect, dict):
                for p in expect.values():
                    compile_pattern(p)
            else:
                compile_pattern(expect)  # type: ignore[arg-type]

    def instrument(self, rw: Any, names: dict[int, str]) -> None:
        return None

    def attach(self, program: Program, settings: RunSettings) -> StreamAttachment:
        return StreamAttachment(self, StreamWorld(self.config, sinks=self.sinks))


class StreamAttachment:
    """One execution's world; its verdict lands in `outcome.extra["streams"]`."""

    def __init__(self, check: StreamCheck, world: StreamWorld) -> None:
        self.check = check
        self.world = world
        self.verdict: StreamVerdict | None = None

    def host_functions(self) -> Sequence[HostFunction]:
        return core_functions(self.world, wrap_proc_exit=self.check.check)

    def on_event(self, call: Any, event: object) -> None:
        return None

    def finished(self, outcome: Outcome, rerun: Rerun | None) -> None:
        if self.check.check:
            self.verdict = judge(self.world, outcome, self.check.expect)
        else:
            self.verdict = StreamVerdict(world=self.world)
        self.verdict.world = self.world
        outcome.extra[OUTCOME_KEY] = self.verdict


def verdict_of(outcome: Outcome) -> StreamVerdict | None:
    """The stream verdict of an execution run with a `StreamCheck` (None without one)."""
    v = outcome.extra.get(OUTCOME_KEY)
    return v if isinstance(v, StreamVerdict) else None
