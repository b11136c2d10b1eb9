"""The stream check: a fresh observed world per execution, checked by the protocol checker.

`StreamCheck` is what the CLI (`--check streams`) and the pytest marker
(`wasm_stream_sequence`) hand to the runner. Each execution gets its own
`StreamWorld` (wasi/p2/), observed by a `ProtocolChecker`, with the
`wasmconc_streams` imports for core guests (the component host picks the
world up from the attachment) and, when it ends, a `StreamVerdict` in
`outcome.extra["streams"]`; `inspect` turns that verdict into a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ...runtime.extensions import Attachment, Check, CheckAttachment, CheckFailure
from ...runtime.outcome import Status
from ...wasi.p2.stream import STREAMS_MODULE, StreamConfig, echo_sinks

if TYPE_CHECKING:
    from ...runtime.extensions import Rerun
    from ...runtime.hostapi import HostFunction
    from ...runtime.loading.program import Program
    from ...runtime.outcome import Outcome
    from ...runtime.settings import RunSettings
    from ...wasi.p2.model import StreamWorld
    from .report import Expect, StreamVerdict

# The world, the checker and the judge are imported by the first execution that observes a stream:
# the CLI attaches this check to every run, and most guests (core modules without the
# `wasmconc_streams` imports) have no stream to observe.

__all__ = ["OUTCOME_KEY", "StreamAttachment", "StreamCheck", "echo_sinks", "verdict_of"]

OUTCOME_KEY = "streams"


class StreamCheck(Check):
    """Observed output streams with backpressure for every execution; optionally checked.

    `check=True` halts the guest at the first protocol violation (so the
    report has the backtrace of the call) and judges each execution
    (violations, `expect` mismatches, hangs); `check=False` only observes.
    """

    def __init__(self, config: StreamConfig | None = None, *, expect: Expect = None, check: bool = True,
                 sinks: dict[str, Callable[[bytes], None]] | None = None) -> None:
        base = config or StreamConfig()
        self.check = check
        self.config = StreamConfig(**{**base.__dict__, "halt": check})
        self.expect = expect
        self.sinks = dict(sinks or {})
        if expect is not None:  # fail on a bad pattern now, not after the run
            from .sequence import compile_pattern  # noqa: PLC0415 (see the imports)

            if isinstance(expect, dict):
                for p in expect.values():
                    compile_pattern(p)
            else:
                compile_pattern(expect)  # type: ignore[arg-type]

    def cannot_act(self, program: Program) -> str | None:
        """Why this check would observe nothing of `program` (None: it can act): a core module that imports
        no observed stream (the `wasmconc_streams` module). A component's wasi:io streams are all observed."""
        if getattr(program, "run_export", None) is not None:  # a ComponentProgram
            return None
        if any(f.module == STREAMS_MODULE for f in program.func_imports):
            return None
        return (f"{program.name} imports no observed stream (no {STREAMS_MODULE} function; a component's "
                "wasi:io streams are observed), so there is nothing to check")

    def attach(self, program: Program, settings: RunSettings) -> Attachment:
        if not self.check and self.cannot_act(program) is not None:
            # Only observing, and nothing to observe: no world for this execution (the outcome has no
            # stream verdict, as without the check; `verdict_of` says None).
            return CheckAttachment()
        from ...wasi.p2.model import StreamWorld  # noqa: PLC0415 (see the imports)
        from .checker import ProtocolChecker  # noqa: PLC0415

        checker = ProtocolChecker(busy_poll_limit=self.config.busy_poll_limit)
        return StreamAttachment(self, StreamWorld(self.config, sinks=self.sinks, observer=checker))

    def inspect(self, outcome: Outcome) -> CheckFailure | None:
        """The verdict of this check's execution as a failure (a hang alone is a hang failure)."""
        verdict = verdict_of(outcome)
        if verdict is None or not verdict.failed:
            return None
        if verdict.hang and not (verdict.violations or verdict.mismatches):
            what = "deadlocked" if outcome.status is Status.DEADLOCK else "hung"
            return CheckFailure(f"a guest execution {what}\n{verdict.text}", hang=True)
        return CheckFailure(verdict.text)


class StreamAttachment(CheckAttachment):
    """One execution's world; its verdict lands in `outcome.extra["streams"]`."""

    def __init__(self, check: StreamCheck, world: StreamWorld) -> None:
        self.check = check
        self.world = world
        self.verdict: StreamVerdict | None = None

    def host_functions(self) -> Sequence[HostFunction]:
        from ...wasi.p2.core import core_functions  # noqa: PLC0415 (see the imports)

        return core_functions(self.world, wrap_proc_exit=self.check.check)

    def finished(self, outcome: Outcome, rerun: Rerun | None) -> None:
        from .report import StreamVerdict, judge  # noqa: PLC0415 (see the imports)

        if self.check.check:
            self.verdict = judge(self.world, outcome, self.check.expect)
        else:
            self.verdict = StreamVerdict(world=self.world)
        self.verdict.world = self.world
        outcome.extra[OUTCOME_KEY] = self.verdict


def verdict_of(outcome: Outcome) -> StreamVerdict | None:
    """The stream verdict of an execution run with a `StreamCheck` (None without one)."""
    v = outcome.extra.get(OUTCOME_KEY)
    if v is None:
        return None
    from .report import StreamVerdict  # noqa: PLC0415 (see the imports)

    return v if isinstance(v, StreamVerdict) else None
