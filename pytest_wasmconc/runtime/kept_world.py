"""An exploration's WASI world and import table, renewed for each of its executions instead of made anew.

Each execution of a core module asks the `Worlds` provider for its world (a WASI host: its state and
its host functions) and resolves the guest's imports against those functions, the runtime's builtins
and the caller's, names and signatures checked. Within one exploration only the world's state
changes: a world that can be renewed (worlds.RenewableWorld) is kept and renewed, its host functions
built once, and the resolved table is kept while the same function objects are offered
(machine/execution.py `ResolvedImports`). A renewed world is what a new one would be (a new state
from the same configuration), so no schedule changes (tests/runtime/test_reset_exactness.py compares
with the fresh path, `Runner.reuse_instances = False`, where every execution makes its own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .loading.program import WASI_P1, Program
from .machine.execution import ResolvedImports

if TYPE_CHECKING:
    from .guestio import GuestIO
    from .hostapi import HostFunction
    from .worlds import CoreWorld, Worlds

__all__ = ["KeptWorld", "wasi_functions"]


def wasi_functions(wasi: CoreWorld, program: Program) -> list[HostFunction]:
    """The WASI host functions `program` imports."""
    return list(wasi.functions([f.name for f in program.func_imports if f.module == WASI_P1]))


class KeptWorld:
    """One exploration's world (one per way its guest is loaded: runner.py), renewed for each execution."""

    def __init__(self) -> None:
        self._world: CoreWorld | None = None
        self._made_for: tuple[Any, ...] = ()
        self._functions: list[HostFunction] = []
        self.resolved = ResolvedImports()

    def world(self, worlds: Worlds, program: Program, io: GuestIO, argv: list[str]) -> tuple[CoreWorld,
                                                                                              list[HostFunction]]:
        """The world of the next execution of `program` and the WASI host functions the guest imports."""
        world = self._world
        made_for = (worlds, program, io, argv)
        if world is not None and self._same(made_for):
            renew = getattr(world, "renew", None)
            if renew is not None:
                try:
                    renew()
                except Exception:  # noqa: BLE001 - e.g. a preopened directory is gone: a new world says so properly
                    pass
                else:
                    return world, self._functions
        world = worlds.core(program, io, argv)
        self._world, self._made_for = world, made_for
        self._functions = wasi_functions(world, program)
        return world, self._functions

    def _same(self, made_for: tuple[Any, ...]) -> bool:
        old = self._made_for
        return old[0] is made_for[0] and old[1] is made_for[1] and old[2] is made_for[2] and old[3] == made_for[3]
