"""Reports a user reads: what went wrong, in which thread, where in the guest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .outcome import Outcome, Status

if TYPE_CHECKING:
    from .machine.ends import End
    from .loading.program import Program
    from .worlds import TraceLine

__all__ = ["append_trace_tail", "render_report", "render_trace_tail"]

TRACE_TAIL = 20  # WASI calls shown at the end of a failure report


def render_report(outcome: Outcome, end: End, program: Program) -> str:
    lines: list[str] = []
    if outcome.status is Status.EXITED:
        who = f" (thread {end.thread})" if end.thread not in (None, 0) else ""
        lines.append(f"{program.name}: exited with code {outcome.exit_code}{who}")
    elif outcome.status is Status.TRAPPED:
        where = "thread 0 (main)" if end.thread == 0 else f"thread {end.thread}"
        lines.append(f"{program.name}: trap in {where}: {end.message}")
        if end.host_traceback:
            lines.append("host function traceback:")
            lines += ["  " + ln for ln in end.host_traceback.rstrip().splitlines()]
    elif outcome.status is Status.DEADLOCK:
        lines.append(f"deadlock! every live guest thread of {program.name} is blocked and nothing can wake them")
    else:
        lines.append(f"hang: {end.message}")
    if outcome.status is not Status.EXITED or any(t.trap for t in outcome.threads):
        lines.append(f"guest threads ({outcome.preempt} mode, {outcome.steps} scheduling steps):")
        lines += _render_threads(outcome.threads)
    return "\n".join(lines)


# Threads that ended normally are listed one by one up to this many; beyond,
# one line counts them (a program that started 40,000 threads over its life
# must not bury the few that matter).
FINISHED_LISTED = 8


def _render_threads(threads: Sequence[Any]) -> list[str]:
    done = [t for t in threads if t.state == "finished" and not t.trap and not t.waiting_on and not t.frames]
    if len(done) <= FINISHED_LISTED:
        return [t.render() for t in threads]
    quiet = {t.tid for t in done}
    lines = [t.render() for t in threads if t.tid not in quiet]
    lines.append(f"  ... and {len(done)} more threads that finished (thread {done[0].tid} to {done[-1].tid})")
    return lines


def hang_message(kind: str, value: Any) -> str:
    if kind == "max-steps":
        return (f"no progress within the step budget of {value} scheduling steps (no thread started, finished "
                "or was released by another in that time): a spin loop or a livelock? If it is long work, "
                "raise the budget: --max-steps N (pytest: --wasm-max-steps=N, or "
                "@pytest.mark.wasm_no_hang(max_steps=N) for one test)")
    return f"the wall-clock backstop of {value:g} s was reached while the guest was still running"


def render_trace_tail(trace: Sequence[TraceLine], dropped: int = 0, limit: int = TRACE_TAIL) -> str:
    """The last `limit` WASI calls, oldest first, one per line, as the world explains them (errno names)."""
    tail = list(trace)[-limit:] if limit > 0 else []
    total = len(trace) + dropped
    lines = [f"last {len(tail)} of {total} WASI calls (oldest first):"]
    lines += [f"  {entry.explain()}" for entry in tail]
    return "\n".join(lines)


def append_trace_tail(outcome: Outcome, dropped: int = 0, limit: int = TRACE_TAIL) -> None:
    """Add the tail of `outcome.trace` to the report of a trap, deadlock or hang."""
    if outcome.status is Status.EXITED or not outcome.trace:
        return
    outcome.report = f"{outcome.report}\n{render_trace_tail(outcome.trace, dropped, limit)}"
