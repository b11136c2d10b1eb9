"""Runs of visible accesses in straight-line code, checked at once when no check in them can fire.

At the `shared` level every plain access to shared memory is a check of the
preemption counter (`preempt.py`): subtract the access's charge, call out of
wasm when the counter goes negative. In a compute loop that is a check before
nearly every load, and the call in each check's (rarely taken) slow path makes
Cranelift keep every value that is live across it in memory: the loaded
operands of a dot product waiting for their multiply were stored to the stack
and loaded back, four times per iteration.

A run is a stretch of straight-line code (no branch, call, block or
instruction another pass edited) that starts and ends with nothing of its own
on the operand stack and holds visible accesses. The pass wraps it:

    if counter - (sum of the run's charges) >= 0:   counter -= that sum; the run without checks
    else:                                           the run as before, a check before each access

Both arms compute the same values. A check fires when the counter, less its
charge, is below zero, and charges are never negative, so the counter only
falls along the run: no check of the run fires exactly when the last one
would not, i.e. when the counter covers the whole sum. Then the first arm
leaves the counter where the checks would have; otherwise the second arm runs
the very checks and slow paths there were, at the same points with the same
counts. Every access stays a point where a quantum may end, and every
schedule, decision and count is the one the per-access checks make. The one
difference: a trap inside the first arm leaves the counter charged for the
whole run rather than up to the trapping access (the virtual clock of a
trapped execution may read a few hundred units later).

The first arm has no call, so its values stay in registers; the price is the
run's code twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .decode import Instr

__all__ = ["Run", "runs"]

_NOP, _DROP = 0x01, 0x1A
_LOCAL_GET, _LOCAL_SET, _LOCAL_TEE, _GLOBAL_GET, _GLOBAL_SET = 0x20, 0x21, 0x22, 0x23, 0x24


def _effects() -> dict[int, tuple[int, int]]:
    """(values popped, values pushed) of the instructions a run may hold: no control flow, no
    calls, nothing with an index the rewriter may shift (functions), nothing atomic or SIMD."""
    t: dict[int, tuple[int, int]] = {}

    def put(pops: int, pushes: int, *ops: int | range) -> None:
        for op in ops:
            for o in op if isinstance(op, range) else (op,):
                t[o] = (pops, pushes)

    put(0, 0, _NOP)
    put(1, 0, _DROP, _LOCAL_SET, _GLOBAL_SET)
    put(0, 1, _LOCAL_GET, _GLOBAL_GET, 0x41, 0x42, 0x43, 0x44)  # local/global.get, consts
    put(1, 1, _LOCAL_TEE, range(0x28, 0x36))  # local.tee, loads
    put(2, 0, range(0x36, 0x3F))  # stores
    put(3, 1, 0x1B, 0x1C)  # select, typed select
    # numeric: tests, comparisons, unary and binary operators, conversions, sign extensions
    put(1, 1, 0x45, 0x50, range(0x67, 0x6A), range(0x79, 0x7C), range(0x8B, 0x92), range(0x99, 0xA0))
    put(1, 1, range(0xA7, 0xC5))
    put(2, 1, range(0x46, 0x50), range(0x51, 0x67), range(0x6A, 0x79), range(0x7C, 0x8B))
    put(2, 1, range(0x92, 0x99), range(0xA0, 0xA7))
    put(1, 1, *((0xFC << 16) | s for s in range(8)))  # saturating truncations
    return t


_EFFECTS = _effects()


@dataclass(frozen=True)
class Run:
    """Instructions [start, end) of one body, holding the visible accesses `accesses`."""

    start: int
    end: int
    accesses: tuple[int, ...]


def runs(instrs: Sequence[Instr], visible: Sequence[int], edited: Collection[int], min_accesses: int = 2) -> list[Run]:
    """The runs of `instrs` with at least `min_accesses` of the (sorted) `visible` accesses.

    `edited`: instructions other code is put before, after or in place of; a run holds none
    (what the pass adds at a run's first instruction goes before the run, a check at a loop
    header after the `loop`, which no run holds).
    """
    out: list[Run] = []
    wanted = set(visible)
    n = len(instrs)
    i = 0
    while i < n:
        if instrs[i].op not in _EFFECTS or i in edited:
            i += 1
            continue
        # A stretch of run-able instructions from i. Cuts: points where the stack holds
        # nothing the stretch pushed; an instruction taking more than that ends it.
        height = 0
        last_cut = first_cut = i
        j = i
        while j < n and j not in edited:
            effect = _EFFECTS.get(instrs[j].op)
            if effect is None or height < effect[0]:
                break
            height += effect[1] - effect[0]
            j += 1
            if height == 0:
                last_cut = j
        accesses = tuple(k for k in range(first_cut, last_cut) if k in wanted)
        if len(accesses) >= min_accesses:
            out.append(Run(first_cut, last_cut, accesses))
        # Resume after the stretch: at the instruction that ended it unless that one is
        # run-able (it took values from before the stretch: no run can hold it), then after it.
        i = j + 1 if j < n and j not in edited and instrs[j].op in _EFFECTS else max(j, i + 1)
    return out
