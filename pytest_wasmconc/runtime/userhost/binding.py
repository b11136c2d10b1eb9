"""Binding user imports to a guest: each callable checked against the guest's import of its name.

Before anything runs, every callable is checked against the import's
signature: arity, the wasm types its annotations claim (`int` for i32/i64,
`float` for f32/f64, a `tuple[...]` of them for several results) or its
`@wasm_signature`, and whether its first parameter takes the `GuestCall`.
Every problem is listed in one `HostImportError`. After each call, its
return value is checked against the import's result types (`check_results`).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..hostapi import HostFunction, ValType
from .api import HostImportError, ImportEntry, UserImports
from .call import GuestCall

if TYPE_CHECKING:
    from ..loading.program import FuncImport, Program

__all__ = ["RANGE", "ImportSpec", "bind", "check_import", "check_results", "types_text"]

# The Python ints an i32/i64 takes: signed or unsigned.
RANGE = {ValType.I32: (-(1 << 31), (1 << 32) - 1), ValType.I64: (-(1 << 63), (1 << 64) - 1)}


@dataclass(frozen=True)
class ImportSpec:
    """One checked user import."""

    module: str
    name: str
    fn: Callable[..., Any]
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]
    takes_call: bool
    inline: bool

    @property
    def label(self) -> str:
        return f"{self.module}.{self.name}"


def types_text(types_: tuple[ValType, ...]) -> str:
    return " ".join(t.value for t in types_)


def _describe_callable(fn: Any) -> str:
    name = getattr(fn, "__name__", None) or repr(fn)
    try:
        try:
            sig = inspect.signature(fn, eval_str=True)
        except Exception:
            sig = inspect.signature(fn)
        return f"{name}{sig}".replace("'", "")
    except (TypeError, ValueError):
        return str(name)


def _annotation_kind(ann: Any) -> str | None:
    """'int', 'float', 'none', a tuple kind, 'bad:NAME', or None (unchecked)."""
    if ann is inspect.Parameter.empty or ann is Any or ann is object:
        return None
    if isinstance(ann, str):
        text = ann.strip()
        return {"int": "int", "bool": "int", "float": "float", "None": "none"}.get(text)
    if ann is None or ann is type(None):
        return "none"
    if ann is int or ann is bool:
        return "int"
    if ann is float:
        return "float"
    if typing.get_origin(ann) is tuple:
        return "tuple"
    if isinstance(ann, type):
        return f"bad:{ann.__name__}"
    return None


def _is_call_annotation(ann: Any) -> bool:
    if ann is GuestCall:
        return True
    if isinstance(ann, str):
        return ann.strip().rsplit(".", 1)[-1] == "GuestCall"
    return False


def _takes_call(params: list[inspect.Parameter], hints: dict[str, Any], nwasm: int) -> bool:
    """Does the first parameter receive the GuestCall?

    Yes when it is annotated `GuestCall`; also when it is an unannotated `call` or
    `caller` and the function has exactly one positional parameter more than the
    guest passes (a lambda cannot be annotated).
    """
    positional = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                  inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    if not positional or positional[0] is not params[0]:
        return False
    first = positional[0]
    ann = hints.get(first.name, first.annotation)
    if _is_call_annotation(ann):
        return True
    return ann is inspect.Parameter.empty and first.name in ("call", "caller") and len(positional) == nwasm + 1


def _fits(kind: str | None, t: ValType) -> bool:
    if kind is None:
        return True
    if kind == "int":
        return t in (ValType.I32, ValType.I64)
    if kind == "float":
        return t in (ValType.F32, ValType.F64)
    return False


def check_import(entry: ImportEntry, imp: FuncImport) -> tuple[ImportSpec | None, str | None]:
    """One callable against the guest's import of its name: (its spec, None), or (None, what does not fit).

    A runtime-level `HostFunction` gives (None, None): it is passed through as is.
    """
    fn = entry.fn
    label = f"{entry.module}.{entry.name}"
    want = f"the guest imports {label} as {imp.signature()}"
    if isinstance(fn, HostFunction):
        return None, None  # a runtime-level host function: passed through as is
    if not callable(fn):
        return None, f"{label}: {want}, but imports= gives {type(fn).__name__} {fn!r}, not a callable"
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return None, (f"{label}: {want}, but {_describe_callable(fn)} is an async function: write host functions "
                      "as plain functions (the runtime makes them async for Wasmtime itself; to wait, use "
                      "pytest_wasmconc.host objects)")
    if inspect.isgeneratorfunction(fn):
        return None, (f"{label}: {want}, but {_describe_callable(fn)} is a generator function: a plain import "
                      "is called and returns its results; a host function that yields Waits is a "
                      "runtime HostFunction (pass a HostFunction instead)")
    inline = bool(getattr(fn, "__wasmconc_nonblocking__", False))
    declared = getattr(fn, "__wasmconc_signature__", None)
    try:
        sig: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None  # some builtins: nothing to check
    hints: dict[str, Any] = {}
    if sig is not None:
        try:
            hints = typing.get_type_hints(fn)
        except Exception:
            hints = dict(getattr(fn, "__annotations__", {}) or {})
    params = list(sig.parameters.values()) if sig is not None else []
    takes_call = _takes_call(params, hints, len(imp.params))
    if takes_call:
        params = params[1:]
    spec = ImportSpec(entry.module, entry.name, fn, imp.params, imp.results, takes_call, inline)
    if declared is not None:
        dp, dr = declared
        if (dp, dr) != (imp.params, imp.results):
            return None, (f"{label}: {want}, but {_describe_callable(fn)} is declared "
                          f"({types_text(dp)}) -> ({types_text(dr)})")
    if sig is None:
        return spec, None
    problems = []
    positional = [p for p in params if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                  inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    kwonly = [p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty]
    n = len(imp.params)
    if kwonly:
        problems.append(f"it has required keyword-only parameters ({', '.join(p.name for p in kwonly)})")
    if n < len(required):
        problems.append(f"it needs {len(required)} argument{'s' if len(required) != 1 else ''} "
                        f"and the guest passes {n}")
    elif n > len(positional) and not varargs:
        problems.append(f"it takes {len(positional)} argument{'s' if len(positional) != 1 else ''} "
                        f"and the guest passes {n}")
    else:
        for p, t in zip(positional, imp.params):
            kind = _annotation_kind(hints.get(p.name, p.annotation))
            if kind is not None and not _fits(kind, t):
                what = kind.removeprefix("bad:")
                problems.append(f"parameter {p.name!r} is annotated {what} but the guest passes {t.value}")
    ret = hints.get("return", sig.return_annotation)
    rkind = _annotation_kind(ret)
    if rkind == "none" and imp.results:
        problems.append(f"it returns None but the guest expects ({types_text(imp.results)})")
    elif rkind in ("int", "float") and (len(imp.results) != 1 or not _fits(rkind, imp.results[0])):
        problems.append(f"it returns {rkind} but the guest expects ({types_text(imp.results)})")
    elif rkind == "tuple":
        args = typing.get_args(ret)
        if args and args[-1] is not Ellipsis:
            kinds = [_annotation_kind(a) for a in args]
            if len(kinds) != len(imp.results) or not all(_fits(k, t) for k, t in zip(kinds, imp.results)):
                problems.append(f"it returns {len(kinds)} values ({', '.join(str(k) for k in kinds)}) "
                                f"but the guest expects ({types_text(imp.results)})")
    elif rkind is not None and rkind.startswith("bad:"):
        problems.append(f"it returns {rkind[4:]} but the guest expects ({types_text(imp.results)})")
    if problems:
        return None, f"{label}: {want}, but {_describe_callable(fn)}: {'; '.join(problems)}"
    return spec, None


def bind(program: Program, imports: UserImports) -> tuple[list[ImportSpec], list[HostFunction]]:
    """Check every user import against `program`'s imports; raise HostImportError listing every problem."""
    specs: list[ImportSpec] = []
    passthrough: list[HostFunction] = []
    problems: list[str] = []
    by_module: dict[str, list[str]] = {}
    for imp in program.func_imports:
        by_module.setdefault(imp.module, []).append(imp.name)
    entries = imports.entries()  # (calls a factory: once per execution)
    for entry in entries:
        found = program.func_import(entry.module, entry.name)
        if found is None:
            if entry.strict:
                names = by_module.get(entry.module)
                hint = (f"it imports {', '.join(f'{entry.module}.{n}' for n in names)} from that module"
                        if names else f"it imports nothing from module {entry.module!r}")
                problems.append(f"{entry.module}.{entry.name}: the guest does not import it ({hint})")
            continue
        if isinstance(entry.fn, HostFunction):
            passthrough.append(entry.fn)
            continue
        spec, problem = check_import(entry, found)
        if problem is not None:
            problems.append(problem)
        elif spec is not None:
            specs.append(spec)
    provided = {(s.module, s.name) for s in specs} | {hf.key for hf in passthrough}
    user_modules = {e.module for e in entries}
    for imp in program.func_imports:
        if imp.module in user_modules and (imp.module, imp.name) not in provided and \
                not any(p.startswith(f"{imp.module}.{imp.name}:") for p in problems):
            problems.append(f"{imp.module}.{imp.name}: the guest imports it as {imp.signature()}, "
                            "but imports= does not provide it")
    if problems:
        what = "host imports do not" if len(problems) > 1 else "a host import does not"
        raise HostImportError(f"{program.name}: {what} fit the guest: " + "; ".join(problems))
    return specs, passthrough



def check_results(spec: ImportSpec, value: Any) -> Any:
    """The host function's return value, checked against the import's result types (TypeError if wrong).

    i32/i64 take any int in the signed or unsigned range (bools too); f32/f64 take ints and floats.
    """
    rtypes = spec.results
    if not rtypes:
        if value is None:
            return None
        if value != ():
            raise TypeError(f"host function {spec.label} returned {value!r}, but the guest expects no result")
        return None
    if type(value) is int and len(rtypes) == 1:  # the common case, quickly
        bounds = RANGE.get(rtypes[0])
        if bounds is not None and bounds[0] <= value <= bounds[1]:
            return value
    values = list(value) if isinstance(value, (tuple, list)) else [value]
    if len(values) != len(rtypes):
        raise TypeError(f"host function {spec.label} returned {value!r}, but the guest expects "
                        f"({types_text(rtypes)})")
    for v, t in zip(values, rtypes):
        bounds = RANGE.get(t)
        if bounds is not None:
            if not isinstance(v, int):
                raise TypeError(f"host function {spec.label} returned {value!r}, but the guest expects "
                                f"({types_text(rtypes)}): {v!r} is not an int")
            if not bounds[0] <= v <= bounds[1]:
                raise TypeError(f"host function {spec.label} returned {v}, out of range for {t.value}")
        elif not isinstance(v, (int, float)) or isinstance(v, bool):
            raise TypeError(f"host function {spec.label} returned {value!r}, but the guest expects "
                            f"({types_text(rtypes)}): {v!r} is not a number")
    return value
