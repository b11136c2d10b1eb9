"""Old module paths of the package, kept importable for one release with a DeprecationWarning.

The restructuring of 0.2 moved modules into folders that each hold one idea
(`runtime/machine/`, `runtime/userhost/`, `checks/streams/`, ...). Code that
still imports an old path (`from pytest_wasmconc.runtime.hostsync import Lock`)
gets an alias module that forwards every attribute to the new home and says
where that is. The alias is a separate module object, so the real module keeps
its own name and spec; a monkeypatch must target the new path.

Installed by the package's `__init__`, which runs before any of its submodules.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = ["MOVED", "install"]

_P = "pytest_wasmconc."

# old path -> new path (both below the package), or the paths a module was split into (an
# attribute is looked up in each, in order); removed in the release after 0.2.
MOVED: dict[str, str | tuple[str, ...]] = {
    "runtime.program": "runtime.loading.program",
    "runtime.engine": "runtime.loading.engine",
    "runtime.cache": "runtime.loading.cache",
    "runtime.execution": "runtime.machine.execution",
    "runtime.threads": "runtime.machine.threads",
    "runtime.builtins": "runtime.machine.builtins",
    "runtime.memory": "runtime.machine.memory",
    "runtime.clock": "runtime.machine.clock",
    "runtime.affinity": "runtime.machine.affinity",
    "runtime.serial": "runtime.drivers.serial",
    "runtime.os_threads": "runtime.drivers.os_threads",
    "runtime.driving": "runtime.drivers.driving",
    "runtime.ticker": "runtime.drivers.ticker",
    "runtime.futex": "runtime.lane.futex",
    "runtime.capi": ("runtime.wasmtime.capi", "runtime.wasmtime.calls", "runtime.wasmtime.hostcalls",
                     "runtime.wasmtime.epochs", "runtime.wasmtime.failures", "runtime.wasmtime.interrupts"),
    "runtime.traphandlers": "runtime.wasmtime.traphandlers",
    "runtime.hostlocks": "runtime.userhost.hostlock",
    "runtime.hostsync": "runtime.userhost.sync",
    "runtime.hostworker": "runtime.userhost.worker",
    "runtime.userimports": ("runtime.userhost.api", "runtime.userhost.call", "runtime.userhost.run"),
    "runtime.wasi_native": "wasi.native",
    # the stream check moved to checks/streams/, the streams it checks to WASI (wasi/p2/)
    "streams": "checks.streams",
    "streams.checker": "checks.streams.checker",
    "streams.sequence": "checks.streams.sequence",
    "streams.report": "checks.streams.report",
    "streams.extension": "checks.streams.extension",
    "streams.model": "wasi.p2.model",
    "streams.core": "wasi.p2.core",
    "streams.wasi2": "wasi.p2.host",
    # the DWARF line reader serves every report now, not only the race check's
    "checks.races.lines": "instrument.lines",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, targets: tuple[str, ...]) -> None:
        self.targets = targets

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        homes = [importlib.import_module(t) for t in self.targets]
        alias = types.ModuleType(spec.name, homes[0].__doc__)

        def forward(name: str) -> Any:
            for home in homes:
                if hasattr(home, name):
                    return getattr(home, name)
            raise AttributeError(f"module {spec.name!r} (moved to {', '.join(self.targets)}) has no attribute "
                                 f"{name!r}")

        alias.__getattr__ = forward  # type: ignore[method-assign]
        alias.__dir__ = lambda: sorted({n for home in homes for n in dir(home)})  # type: ignore[method-assign]
        alias.__dict__["__all__"] = [n for home in homes for n in getattr(home, "__all__", ())]
        if any(hasattr(home, "__path__") for home in homes):
            # An old package: its old submodules (`streams.model`) are imported below it,
            # and the import system looks for them only under a parent that has a path.
            alias.__dict__["__path__"] = []
        return alias

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_P):
            return None
        new = MOVED.get(fullname[len(_P):])
        if new is None:
            return None
        targets = tuple(_P + t for t in ((new,) if isinstance(new, str) else new))
        warnings.warn(f"{fullname} moved to {' and '.join(targets)}; the old path goes away in the next release "
                      "(the package's own names are in `pytest_wasmconc`)", DeprecationWarning, stacklevel=2)
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(targets))


_FINDER = _MovedFinder()


def install() -> None:
    """Answer old paths before the path finder does (idempotent)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)
