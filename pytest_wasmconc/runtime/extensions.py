"""Extensions: checks that observe executions without the runtime knowing what they check.

An extension (the lock-order check is one) may

- instrument the guest at load time: `pass_key` names its pass (None: no pass),
  `instrument(rw, names)` runs it on the module's `ModuleRewriter` after the
  atomics pass; what it returns is kept in `Program.pass_results[pass_key]`;
- attach to every execution: `attach(program, settings)` returns an
  `Attachment` that gives the execution host functions bound to it, receives
  the events host code emits (`HostCall.emit`), and sees the outcome.

`Attachment.finished` gets a `rerun` in fuel mode: it runs the very same
execution again (same program, I/O, settings and host functions) with other
extensions, e.g. to stop a thread at an exact event and take its backtrace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..instrument import ModuleRewriter
    from .hostapi import HostCall, HostFunction
    from .outcome import Outcome
    from .loading.program import Program
    from .settings import RunSettings

__all__ = ["Attachment", "Extension", "Rerun", "load_passes"]

Rerun = Callable[[Sequence["Extension"]], "Outcome"]


class Attachment(Protocol):
    """An extension's part in one execution."""

    def host_functions(self) -> Sequence[HostFunction]:
        """Imports this execution gets (bound to it)."""
        ...

    def on_event(self, call: HostCall, event: object) -> None:
        """An event host code emitted; may raise GuestTrap to stop the calling thread."""
        ...

    def finished(self, outcome: Outcome, rerun: Rerun | None) -> None:
        """The execution ended; `rerun` repeats it exactly (fuel mode only, else None)."""
        ...


class Extension(Protocol):
    """Something that observes executions (see the module docstring)."""

    @property
    def pass_key(self) -> str | None:
        """Identity of the load-time pass (None: no pass); programs are cached by it."""
        ...

    def instrument(self, rw: ModuleRewriter, names: dict[int, str]) -> Any:
        """The load-time pass (called only when pass_key is not None)."""
        ...

    def attach(self, program: Program, settings: RunSettings) -> Attachment:
        """A fresh attachment for one execution of `program`."""
        ...


def load_passes(extensions: Sequence[Extension]) -> list[tuple[str, Any]]:
    """The (key, pass) list `load_program(passes=...)` takes."""
    out = []
    for ext in extensions:
        key = ext.pass_key
        if key is not None:
            out.append((key, ext.instrument))
    return out
