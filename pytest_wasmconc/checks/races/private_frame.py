"""Which plain accesses provably touch the running function's own stack frame.

`instrument/stack_frame.FrameAnalysis` proves it for atomics, whose width is
their alignment; a plain access's width is its opcode's, which the caller
knows, so this asks the same analysis with that width. The proof is the
analysis's own (its module docstring): the frame stays private to the
activation, and the access lies within the bytes its prologue took.
(Move into stack_frame.py as a public `stack_local(i, width)` once the
plain-access scheduling level needs it too.)
"""

from __future__ import annotations

from ...instrument.stack_frame import FrameAnalysis

__all__ = ["PrivateFrame"]


class PrivateFrame(FrameAnalysis):
    """`FrameAnalysis` answering for plain loads and stores too."""

    def private(self, i: int, width: int) -> bool:
        """Whether memory instruction `i`, accessing `width` bytes, touches only this activation's frame."""
        ins = self.instrs[i]
        memidx, offset = ins.imm[1], ins.imm[2]
        if memidx != 0 or not self._sp_gets:
            return False
        nops = 1 if 0x28 <= ins.op <= 0x35 else 2 if 0x36 <= ins.op <= 0x3E else None
        if nops is None:  # atomics: their width is their alignment, the analysis's own question
            return self.stack_local(i)
        operands = self._operands(i, nops)
        if operands is None or not self._looks_framed(operands[0]) or not self.ok:
            return False
        value = self._value(operands[0])
        if value is None:
            return False
        size, k = value[0], value[1] + offset
        return 0 <= k and k + width <= size
