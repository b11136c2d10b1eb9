"""The one exception the instrumenter raises for input it cannot rewrite."""

from __future__ import annotations

__all__ = ["InstrumentError"]


class InstrumentError(Exception):
    """The input is not a core wasm module we can decode.

    Always names the byte offset (in the input) where decoding gave up, so a
    user can look at the guest with `wasm-tools dump` and see what was there.
    """

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"{reason} (at byte offset {offset} / 0x{offset:x})")
        self.offset = offset
        self.reason = reason
