"""Declaring user imports: `UserImports`, the `@nonblocking`/`@wasm_signature` markers, and the errors.

    runner.run(guest, imports={"host": {"log": log, "query": query}})

A user import is a plain Python callable. Each is checked against the
guest's import of the same name before anything runs (binding.py). It
receives the wasm arguments (ints for i32/i64, floats for f32/f64); a first
parameter annotated `GuestCall` receives the call itself (call.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from ..errors import ModuleError
from ..hostapi import GuestTrap, ValType

__all__ = [
    "DEFAULT_BLOCKING_TIMEOUT",
    "GuestCallError",
    "GuestCallTrap",
    "HostImportError",
    "ImportEntry",
    "ImportsSpec",
    "UserImports",
    "nonblocking",
    "parse_types",
    "wasm_signature",
]

DEFAULT_BLOCKING_TIMEOUT = 10.0

_VALTYPES = {"i32": ValType.I32, "i64": ValType.I64, "f32": ValType.F32, "f64": ValType.F64}


class HostImportError(ModuleError):
    """User imports do not fit the guest (a missing name, a wrong signature, not a callable)."""


class GuestCallError(Exception):
    """A host function used its GuestCall in a way that cannot work (named in the message)."""


class GuestCallTrap(GuestTrap):
    """A call back into the guest trapped. Uncaught, it traps the calling guest code too."""

    def __init__(self, message: str, frames: list[str]) -> None:
        super().__init__(message)
        self.frames = frames


def nonblocking(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a host function that never waits nor calls back into the guest: it then runs inline (faster)."""
    fn.__wasmconc_nonblocking__ = True  # type: ignore[attr-defined]
    return fn


def wasm_signature(params: str, results: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a host function's exact wasm signature, e.g. `@wasm_signature("i32 i32", "i64")`."""
    p = parse_types(params)
    r = parse_types(results)

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__wasmconc_signature__ = (p, r)  # type: ignore[attr-defined]
        return fn

    return mark


def parse_types(text: str) -> tuple[ValType, ...]:
    """"i32 i64" (or "i32, i64") as ValTypes; ValueError naming a token that is not one."""
    out = []
    for tok in text.replace(",", " ").split():
        if tok not in _VALTYPES:
            raise ValueError(f"unknown wasm value type {tok!r} (valid: i32 i64 f32 f64)")
        out.append(_VALTYPES[tok])
    return tuple(out)


ImportsMapping = Mapping[str, Mapping[str, Any]]
ImportsSpec = Union["UserImports", ImportsMapping, Callable[[], ImportsMapping]]


@dataclass(frozen=True)
class ImportEntry:
    """One named user import, as given (not yet checked against a guest)."""

    module: str
    name: str
    fn: Any
    strict: bool  # a name the guest does not import is an error (else ignored)


@dataclass(frozen=True)
class UserImports:
    """User host functions for a guest: {"module": {"name": callable}} plus options.

    `imports` may also be a zero-argument callable returning that mapping: it
    is called for every execution, so each schedule starts from fresh host
    state (a new queue, a free lock). `strict`: a name the guest does not
    import is an error (a typo); the plugin's fixture-wide imports are not strict.
    """

    imports: Any = field(default_factory=dict)
    strict: bool = True
    blocking_timeout: float | None = DEFAULT_BLOCKING_TIMEOUT
    extra: tuple[UserImports, ...] = ()  # merged in after (overriding) these

    @classmethod
    def of(cls, spec: ImportsSpec | None) -> UserImports | None:
        if spec is None or isinstance(spec, UserImports):
            return spec
        if not isinstance(spec, Mapping) and not callable(spec):
            raise HostImportError(f"imports must be a mapping {{module: {{name: callable}}}} or a function "
                                  f"returning one, not {type(spec).__name__}")
        return cls(spec)

    def merged(self, other: UserImports | None) -> UserImports:
        """These imports with `other`'s on top (same names: `other` wins)."""
        if other is None:
            return self
        return UserImports(self.imports, self.strict, other.blocking_timeout, self.extra + (other,))

    def entries(self) -> list[ImportEntry]:
        out: dict[tuple[str, str], ImportEntry] = {}
        for part in (self,) + self.extra:
            spec = part.imports() if callable(part.imports) and not isinstance(part.imports, Mapping) \
                else part.imports
            if not isinstance(spec, Mapping):
                raise HostImportError(f"imports: the function returned {type(spec).__name__}, "
                                      "not a mapping {module: {name: callable}}")
            for module, names in spec.items():
                if not isinstance(names, Mapping):
                    raise HostImportError(f"imports[{module!r}] must be a mapping {{name: callable}}, "
                                          f"not {type(names).__name__}")
                for name, fn in names.items():
                    out[(str(module), str(name))] = ImportEntry(str(module), str(name), fn, part.strict)
        return list(out.values())
