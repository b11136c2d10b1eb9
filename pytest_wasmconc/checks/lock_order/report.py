"""What a user reads: each lock-order cycle with its locks, and for every edge the thread and both sites."""

from __future__ import annotations

from collections.abc import Callable

from .graph import Cycle, LockOrderGraph, Taken
from .recorder import ExecutionRecord

__all__ = ["TITLE", "no_names_message", "render_cycle"]

TITLE = "lock-order inversion"


def render_cycle(cycle: Cycle, graph: LockOrderGraph, execution: Callable[[int], ExecutionRecord | None],
                 multiple_guests: bool) -> list[str]:
    """The report of one cycle; `execution(number)` finds an execution's record, to say how it ran."""
    # Locks are named in the order of the cycle (M1 first), like ThreadSanitizer's reports.
    label = {k: f"M{i + 1}" for i, k in enumerate(cycle.locks)}
    names = [label[k] for k in cycle.locks]
    lines = [f"{TITLE} (potential deadlock): cycle in lock order {' -> '.join(names + names[:1])}"]
    for k in cycle.locks:
        info = graph.locks[k]
        where = f" in {info.guest}" if info.guest and multiple_guests else ""
        lines.append(f"  {label[k]} = {info.description}{where}")
    for a, b, w in cycle.edges:
        na, nb = label[a], label[b]
        ex = execution(w.taken.execution)
        when = f"execution {w.taken.execution}"
        if ex is not None and ex.settings.preempt.value == "fuel":
            when += f", seed {ex.settings.seed}"
        elif ex is not None:
            when += f", {ex.settings.preempt.value} mode"
        thread = "thread 0 (main)" if w.tid == 0 else f"thread {w.tid}"
        lines.append(f"  {nb} acquired while holding {na} in {thread} ({when}):")
        lines.append(f"    {nb} acquired here ({w.taken.via}):")
        lines += _frames(w.taken)
        lines.append(f"    {na} previously acquired by the same thread here ({w.held.via}):")
        lines += _frames(w.held)
    return lines


def _frames(taken: Taken) -> list[str]:
    out = []
    if taken.frames:
        out += [f"      at {f}" for f in taken.frames]
    else:
        out.append(f"      at {taken.where}" + ("" if taken.python else "  (call site)"))
    if taken.python:
        out.append("      host function (Python):")
        out += [f"        {f}" for f in taken.python]
    if not taken.frames and taken.note:
        out.append(f"      ({taken.note})")
    return out


def no_names_message(guest: str) -> str:
    """Why a guest without a name section cannot be checked, and how to keep its names."""
    return (f"lock-order check: cannot see any lock of {guest}: it has no name section (function names), "
            "so its lock functions (pthread_mutex_lock, ...) cannot be found. wasm-opt drops the name "
            "section unless run with -g (--debuginfo), and so does clang when it runs wasm-opt at link "
            "time (link without -O, or pass -g); `wasm-tools strip --all` drops it too (plain "
            "`wasm-tools strip` keeps it). Rebuild the guest with its names, or report its locks "
            "through the wasmconc.lock_acquired / lock_released imports")
