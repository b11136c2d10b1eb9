"""The assembly of a run: which WASI world each execution gets. The one module that knows them all.

The runtime runs guests without knowing WASI (runtime/worlds.py); the plug-in
packages (`wasi/`, `checks/`) know WASI without knowing the runtime's
drivers. This module joins them: core modules get the sandboxed preview1 host
of `wasi/` (or wasmtime's own with `GuestIO(wasi="native")`), components get
the WASI 0.2 host over observed streams (the stream check's world when the
check is attached). The package registers `DefaultWorlds` with the runtime
(`pytest_wasmconc/__init__.py`), so a plain `Runner()` has it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .runtime.errors import ConfigError
from .runtime.guestio import GuestIO
from .runtime.hostapi import HostFunction
from .runtime.loading.program import Program
from .runtime.worlds import ComponentWorld, CoreWorld
from .wasi import Preopen, WasiConfig, WasiPreview1
from .wasi.config import WasiConfigError
from .wasi.native import NativeWasi

if TYPE_CHECKING:  # pragma: no cover
    from .wasi.p2.host import Wasi2Host
    from .wasi.p2.model import StreamWorld

__all__ = ["DefaultWorlds"]

# The WasiConfig fields GuestIO.wasi_options may set (the others come from GuestIO's own fields).
_WASI_OPTIONS = frozenset(f.name for f in dataclasses.fields(WasiConfig)) - {
    "args", "env", "preopens", "stdin", "stdout_passthrough"}


class DefaultWorlds:
    """The worlds of `wasi/` and the stream check (see the module docstring)."""

    def core(self, program: Program, io: GuestIO, argv: list[str]) -> CoreWorld:
        dirs = [(str(h), g) for h, g in io.dirs]
        if io.wasi == "native":
            return NativeWasi(argv, dict(io.env), dirs, io.stdin, io.passthrough)
        unknown = sorted(str(k) for k in io.wasi_options if k not in _WASI_OPTIONS)
        if unknown:
            raise ConfigError(f"unknown WASI option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                              f"(valid: {', '.join(sorted(_WASI_OPTIONS))})")
        try:
            cfg = WasiConfig(
                args=argv,
                env=dict(io.env),
                preopens=[Preopen(h, g) for h, g in dirs],
                stdin=io.stdin,
                stdout_passthrough=io.passthrough,
                **dict(io.wasi_options),
            )
            return WasiPreview1(cfg)
        except WasiConfigError as exc:
            raise ConfigError(f"WASI: {exc}") from None

    def component(self, program: Any, io: GuestIO, argv: list[str], observers: Sequence[Any]) -> ComponentWorld:
        # The WASI 0.2 host and the stream check load with the first component (a core module's run
        # never needs them: a tenth of `wasmconc run`'s start-up).
        from .checks.streams.extension import StreamAttachment  # noqa: PLC0415
        from .wasi.p2.host import Wasi2Host  # noqa: PLC0415
        from .wasi.p2.model import StreamWorld  # noqa: PLC0415
        from .wasi.p2.stream import StreamConfig, echo_sinks  # noqa: PLC0415

        # The stream check observes the world it brings; without it, a plain one (output echoed if asked).
        world = next((a.world for a in observers if isinstance(a, StreamAttachment)), None)
        if world is None:
            world = StreamWorld(StreamConfig(), sinks=echo_sinks() if io.passthrough else {})
        return _StreamComponentWorld(world, Wasi2Host(world, argv, dict(io.env), _stdin_bytes(io)))


class _StreamComponentWorld:
    """A component's world: the WASI 0.2 host over a stream world."""

    def __init__(self, world: StreamWorld, host: Wasi2Host) -> None:
        self._world = world
        self._host = host

    def functions(self) -> Sequence[HostFunction]:
        return self._host.functions()

    def drop_resource(self, kind: str, rep: int, thread: int) -> None:
        self._host.drop(kind, rep, thread)

    def output(self, name: str) -> bytes:
        return self._world.output(name)


def _stdin_bytes(io: GuestIO) -> bytes:
    """A component's stdin is fixed bytes: given, read from a file, or none ("inherit" included)."""
    if io.stdin is None or io.stdin == "inherit":
        return b""
    if isinstance(io.stdin, (bytes, bytearray)):
        return bytes(io.stdin)
    try:
        return Path(io.stdin).read_bytes()
    except (OSError, TypeError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"stdin file {io.stdin!r}: cannot read it ({why})") from None
