"""Worlds: what a guest sees outside itself (WASI), plugged into the runtime from above.

The runtime runs guests but knows no WASI: a `Worlds` provider gives each
execution its world. A core module's world (`CoreWorld`) hands out the host
functions the guest imports and collects its output and call trace; a
component's (`ComponentWorld`) does the same for WASI 0.2 and owns the
resources the component creates. `pytest_wasmconc.session` assembles the
default provider (the sandboxed WASI of `wasi/`, wasmtime's own WASI, the
observed streams for components) and registers it here when the package is
imported, so `Runner()` works as is; a `Runner(worlds=...)` may bring its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ConfigError

if TYPE_CHECKING:
    import wasmtime

    from .guestio import GuestIO
    from .hostapi import HostFunction
    from .loading.program import Program

__all__ = ["ComponentWorld", "CoreWorld", "RenewableWorld", "TraceLine", "Worlds", "default_worlds",
           "set_default_worlds"]


class TraceLine(Protocol):
    """One call of a world's trace, as the report shows it (e.g. with the errno's name)."""

    def explain(self) -> str: ...


class CoreWorld(Protocol):
    """The host side of one execution of a core module."""

    def functions(self, only: Sequence[str]) -> Sequence[HostFunction]:
        """The host functions of the world the guest imports (`only`: their names)."""
        ...

    def set_waker(self, waker: Callable[[], None]) -> None:
        """What to call when the world changes on its own (input arrived): the execution re-checks waiters."""
        ...

    def configure_store(self, store: wasmtime.Store) -> None:
        """Set up each guest thread's store (wasmtime's own WASI keeps its context there); usually nothing."""
        ...

    @property
    def native(self) -> bool:
        """True when the WASI imports are wasmtime's own (linked natively, not through `functions`)."""
        ...

    @property
    def stdout(self) -> bytes: ...

    @property
    def stderr(self) -> bytes: ...

    @property
    def trace(self) -> Sequence[TraceLine]: ...

    @property
    def trace_dropped(self) -> int: ...

    def close(self) -> None:
        """The execution ended: release files and threads."""
        ...


class RenewableWorld(CoreWorld, Protocol):
    """A core world an exploration may use again for its next execution (kept_world.py): `renew` makes it what
    `Worlds.core` would give for the same guest, arguments and io, and its host functions stay the same objects
    (they serve the renewed world). A world without `renew` is made anew for each execution."""

    def renew(self) -> None: ...


class ComponentWorld(Protocol):
    """The host side of one execution of a WASI 0.2 component."""

    def functions(self) -> Sequence[HostFunction]: ...

    def drop_resource(self, kind: str, rep: int, thread: int) -> None:
        """Guest thread `thread` dropped a resource it got from this world."""
        ...

    def output(self, name: str) -> bytes:
        """What the guest wrote to "stdout" or "stderr"."""
        ...


class Worlds(Protocol):
    """Makes the world of each execution."""

    def core(self, program: Program, io: GuestIO, argv: list[str]) -> CoreWorld: ...

    def component(self, program: Any, io: GuestIO, argv: list[str], observers: Sequence[Any]) -> ComponentWorld:
        """`observers`: the execution's check attachments (a check may bring the world it observes)."""
        ...


_default: Callable[[], Worlds] | None = None


def set_default_worlds(factory: Callable[[], Worlds]) -> None:
    """Register the provider `Runner()` uses when it is given none (called once, by the package)."""
    global _default
    _default = factory


def default_worlds() -> Worlds:
    if _default is None:
        raise ConfigError("no WASI worlds are registered: pass Runner(worlds=...) or import pytest_wasmconc")
    return _default()
