"""The one Check protocol: how a check observes guest executions and judges their outcomes.

A check (the lock-order check, the stream check, `wasm_no_hang`, a user's own)
derives from `Check` and overrides only what it uses; every method has a
default that does nothing, so a check that overrides nothing changes no outcome.

- load time: `pass_key` names its instrumentation pass (None: no pass),
  `instrument(rw, names)` runs it on the module's `ModuleRewriter` after the
  atomics pass; what it returns is kept in `Program.pass_results[pass_key]`.
  `pass_cache_key` (optional) names everything the pass's rewrite and result
  depend on besides the module's bytes (its configuration and its code): set,
  the load is kept like a plain one, in the process and on disk (the result
  pickled), so `instrument` may not run at all; None: it runs at every load;
- each execution: `attach(program, settings)` returns an attachment that gives
  the execution host functions bound to it (`host_functions`), receives the
  events host code emits (`on_event`, from `HostCall.emit`), and sees the
  outcome (`finished`); `finished` gets a `rerun` in fuel mode: it runs the
  very same execution again (same program, I/O, settings and host functions)
  with other extensions, e.g. to stop a thread at an exact event and take its
  backtrace;
- each outcome: `inspect(outcome)` says what the check found wrong with it as
  a `CheckFailure` (None: nothing). It is plain data, so the CLI and pytest
  read the same verdict; the pytest layer raises it as its exception types.

The runtime calls only the first two parts, and types them structurally
(`Extension`, `Attachment`): an object with those members plugs in without
deriving from `Check`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..instrument import ModuleRewriter
    from .hostapi import HostCall, HostFunction
    from .loading.program import Program
    from .outcome import Outcome
    from .settings import RunSettings

__all__ = ["Attachment", "Check", "CheckAttachment", "CheckFailure", "Extension", "Rerun", "load_passes",
           "passes_cache_key"]

Rerun = Callable[[Sequence["Extension"]], "Outcome"]


class Attachment(Protocol):
    """A check's part in one execution (what the runtime calls)."""

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
    """What the runtime calls of a check (see the module docstring)."""

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


@dataclass(frozen=True)
class CheckFailure:
    """What a check found wrong with one outcome, free of pytest.

    `hang`: the failure is that the guest deadlocked or hung (pytest raises
    GuestHangError), not that it broke a rule the check enforces (GuestCheckError).
    """

    message: str
    hang: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.message, str) or not self.message:
            raise ValueError(f"a CheckFailure needs a message (a non-empty str), got {self.message!r}")


class CheckAttachment:
    """An attachment that adds no host function and ignores every event and outcome."""

    def host_functions(self) -> Sequence[HostFunction]:
        return ()

    def on_event(self, call: HostCall, event: object) -> None:
        return None

    def finished(self, outcome: Outcome, rerun: Rerun | None) -> None:
        return None


class Check:
    """Base of every check: override what the check uses; the rest does nothing."""

    pass_key: str | None = None
    # See the module docstring: set only when `instrument` is a function of the bytes and this key.
    pass_cache_key: str | None = None

    def instrument(self, rw: ModuleRewriter, names: dict[int, str]) -> Any:
        return None

    def attach(self, program: Program, settings: RunSettings) -> Attachment:
        return CheckAttachment()

    def inspect(self, outcome: Outcome) -> CheckFailure | None:
        return None


def load_passes(extensions: Sequence[Extension]) -> list[tuple[str, Any]]:
    """The (key, pass) list `load_program(passes=...)` takes."""
    out = []
    for ext in extensions:
        key = ext.pass_key
        if key is not None:
            out.append((key, ext.instrument))
    return out


def passes_cache_key(extensions: Sequence[Extension]) -> str | None:
    """What `load_program(passes_cache_key=...)` takes: the passes' cache keys together, or None when
    one pass has none (an extension without the optional `pass_cache_key` attribute has none)."""
    keys = []
    for ext in extensions:
        if ext.pass_key is None:
            continue
        key = getattr(ext, "pass_cache_key", None)
        if not isinstance(key, str):
            return None
        keys.append(key)
    return "\x1f".join(keys)
