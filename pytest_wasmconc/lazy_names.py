"""A package's names, each loaded from its home module on first use (PEP 562).

A package whose `__init__` imported every submodule made each import of one
light submodule pay for all of them: `wasmconc run` on a core module loaded the
instrumenter, the WASI 0.2 host and wasmtime's component model it never uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, homes: Mapping[str, Sequence[str]], eager: Sequence[str] = ()) -> tuple[
        Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`: each name of `homes[module]` comes from `package.module`
    (a module written with leading dots is a relative name as an import statement has it).

    Not cached in the package: the home module's object is the one answer, also after a test
    harness dropped and re-imported the module (pytester's inline runs do). `eager`: names the
    package defines itself, listed by `__dir__` too.
    """
    home_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        relative = module if module.startswith(".") else f".{module}"
        return getattr(importlib.import_module(relative, package), name)

    def __dir__() -> list[str]:
        return sorted({*home_of, *eager})

    return __getattr__, __dir__
