"""A Store that belongs to one OS thread.

wasmtime-py is not thread-safe (wasmtime-py #254): a Store used from two OS
threads at once corrupts state or hangs. `ThreadAffineStore` is a real
`wasmtime.Store` (usable everywhere one is expected) whose every native use
checks that it happens on the owning thread, and raises a clear error
otherwise. Ownership can be handed over explicitly.
"""

from __future__ import annotations

import threading
from typing import Any

import wasmtime

__all__ = ["StoreThreadError", "ThreadAffineStore"]


class StoreThreadError(RuntimeError):
    """A thread-affine store was used from an OS thread that does not own it."""


class ThreadAffineStore(wasmtime.Store):
    """A wasmtime.Store usable only from the OS thread that owns it."""

    def __init__(self, engine: wasmtime.Engine | None = None, data: Any = None) -> None:
        self._owner = threading.get_ident()
        self._owner_name = threading.current_thread().name
        super().__init__(engine, data)

    @property
    def owner(self) -> int:
        return self._owner

    def transfer_to_current_thread(self) -> None:
        """Make the calling OS thread the owner (the previous owner must be done with it)."""
        self._owner = threading.get_ident()
        self._owner_name = threading.current_thread().name

    def _context(self) -> Any:  # every wasmtime-py operation on a store goes through here
        if threading.get_ident() != self._owner:
            raise StoreThreadError(
                f"this wasmtime Store belongs to OS thread {self._owner_name!r} and was used from "
                f"{threading.current_thread().name!r}; wasmtime stores are not thread-safe "
                "(hand it over with transfer_to_current_thread() once the owner is done with it)"
            )
        return super()._context()
