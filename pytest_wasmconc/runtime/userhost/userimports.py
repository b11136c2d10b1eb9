"""User imports: plain Python callables a guest imports, under every preemption mode.

    runner.run(guest, imports={"host": {"log": log, "query": query}})

Each callable is checked against the guest's import of the same name
(arity, and the wasm types its annotations claim) before anything runs. It
receives the wasm arguments (ints for i32/i64, floats for f32/f64); a first
parameter annotated `GuestCall` receives the call itself: the caller's
memory, its thread id, and `call.call(export, *args)` to call back into the
guest. `current_call()` gives the same from anywhere inside a host function.

Underneath, every user import is an async host function (the only kind a
store with fuel yields or epochs accepts, so the mistake of wasmtime #9515
cannot be made here), and the callable runs on the guest thread's host
worker (hostworker.py). While it runs, the guest thread's side waits; when it
waits on a host synchronisation object (hostsync.py) the guest thread parks
and the scheduler runs the others; when it calls back into the guest, the
export runs as a nested async call of the same store, preemptible like any
other guest code. A callable marked `@nonblocking` runs inline instead; it
must not wait or call back.

Why a worker and not inline by default: a plain function cannot suspend in
the middle, so one that might wait must not run on the thread that drives
every guest thread; and inline-or-worker cannot be chosen per call without
changing the schedule (a wait on the worker is a scheduling point). Measured
on the project's 2-core machine, 20,000 calls of a trivial i32 -> i32 import:
32-41 us per call through the worker, 8-12 us inline (`@nonblocking`), 7-8 us
for a runtime-level HostFunction, in each of fuel, epoch and os mode.

A host function that neither returns nor waits on a host object within
`blocking_timeout` seconds is reported as a hang with its Python stack.
A Python exception from one ends the guest (a trap in the calling thread)
and is kept as `Outcome.host_exception` with its traceback in the report.
"""

from __future__ import annotations

import inspect
import itertools
import threading
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

import wasmtime

from ..wasmtime import calls, hostcalls
from . import hostsync
from ..errors import ModuleError
from ..hostapi import GuestExit, GuestTrap, HostFunction, MemoryFault, Sleep, Until, ValType, WaitResult, Yield
from .hostworker import (
    ABORTED,
    TIMEOUT,
    YIELD,
    Done,
    Export,
    HostCallAborted,
    HostWorker,
    Park,
    Raised,
    Reply,
    RunCall,
    acquire_worker,
    release_worker,
)
from ..outcome import Outcome, Status
from ..settings import Preempt, RunSettings

if TYPE_CHECKING:
    from ..machine.execution import Execution
    from ..loading.program import FuncImport, Program
    from ..machine.threads import GuestThread

__all__ = [
    "DEFAULT_BLOCKING_TIMEOUT",
    "GuestCall",
    "GuestCallError",
    "GuestCallTrap",
    "HostImportError",
    "HostRun",
    "ImportsSpec",
    "UserImports",
    "current_call",
    "nonblocking",
    "wasm_signature",
]

DEFAULT_BLOCKING_TIMEOUT = 10.0
_ABORT_GRACE_S = 2.0  # how long an aborted host function may take to unwind
_POLL_S = 0.1  # the fiber side re-checks for a kill this often while a host function runs

_VALTYPES = {"i32": ValType.I32, "i64": ValType.I64, "f32": ValType.F32, "f64": ValType.F64}
_RANGE = {ValType.I32: (-(1 << 31), (1 << 32) - 1), ValType.I64: (-(1 << 63), (1 << 64) - 1)}


class HostImportError(ModuleError):
    """User imports do not fit the guest (a missing name, a wrong signature, not a callable)."""


class GuestCallError(Exception):
    """A host function used its GuestCall in a way that cannot work (named in the message)."""


class GuestCallTrap(GuestTrap):
    """A call back into the guest trapped. Uncaught, it traps the calling guest code too."""

    def __init__(self, message: str, frames: list[str]) -> None:
        super().__init__(message)
        self.frames = frames


# -- declaring imports ------------------------------------------------------------------------------


def nonblocking(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a host function that never waits nor calls back into the guest: it then runs inline (faster)."""
    fn.__wasmconc_nonblocking__ = True  # type: ignore[attr-defined]
    return fn


def wasm_signature(params: str, results: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a host function's exact wasm signature, e.g. `@wasm_signature("i32 i32", "i64")`."""
    p = _parse_types(params)
    r = _parse_types(results)

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__wasmconc_signature__ = (p, r)  # type: ignore[attr-defined]
        return fn

    return mark


def _parse_types(text: str) -> tuple[ValType, ...]:
    out = []
    for tok in text.replace(",", " ").split():
        if tok not in _VALTYPES:
            raise ValueError(f"unknown wasm value type {tok!r} (valid: i32 i64 f32 f64)")
        out.append(_VALTYPES[tok])
    return tuple(out)


ImportsMapping = Mapping[str, Mapping[str, Any]]
ImportsSpec = Union["UserImports", ImportsMapping, Callable[[], ImportsMapping]]


@dataclass(frozen=True)
class _Entry:
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

    def entries(self) -> list[_Entry]:
        out: dict[tuple[str, str], _Entry] = {}
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
                    out[(str(module), str(name))] = _Entry(str(module), str(name), fn, part.strict)
        return list(out.values())


# -- checking a callable against the guest's import ------------------------------------------------


@dataclass(frozen=True)
class _Spec:
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


def _types_text(types_: tuple[ValType, ...]) -> str:
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


def _check(entry: _Entry, imp: FuncImport) -> tuple[_Spec | None, str | None]:
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
    spec = _Spec(entry.module, entry.name, fn, imp.params, imp.results, takes_call, inline)
    if declared is not None:
        dp, dr = declared
        if (dp, dr) != (imp.params, imp.results):
            return None, (f"{label}: {want}, but {_describe_callable(fn)} is declared "
                          f"({_types_text(dp)}) -> ({_types_text(dr)})")
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
        problems.append(f"it returns None but the guest expects ({_types_text(imp.results)})")
    elif rkind in ("int", "float") and (len(imp.results) != 1 or not _fits(rkind, imp.results[0])):
        problems.append(f"it returns {rkind} but the guest expects ({_types_text(imp.results)})")
    elif rkind == "tuple":
        args = typing.get_args(ret)
        if args and args[-1] is not Ellipsis:
            kinds = [_annotation_kind(a) for a in args]
            if len(kinds) != len(imp.results) or not all(_fits(k, t) for k, t in zip(kinds, imp.results)):
                problems.append(f"it returns {len(kinds)} values ({', '.join(str(k) for k in kinds)}) "
                                f"but the guest expects ({_types_text(imp.results)})")
    elif rkind is not None and rkind.startswith("bad:"):
        problems.append(f"it returns {rkind[4:]} but the guest expects ({_types_text(imp.results)})")
    if problems:
        return None, f"{label}: {want}, but {_describe_callable(fn)}: {'; '.join(problems)}"
    return spec, None


def bind(program: Program, imports: UserImports) -> tuple[list[_Spec], list[HostFunction]]:
    """Check every user import against `program`'s imports; raise HostImportError listing every problem."""
    specs: list[_Spec] = []
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
        spec, problem = _check(entry, found)
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


# -- what a host function sees ----------------------------------------------------------------------


class GuestCall:
    """The guest call a user host function serves (valid until it returns)."""

    def __init__(self, ctx: _Context) -> None:
        self._ctx = ctx

    @property
    def thread_id(self) -> int:
        """The wasi-threads id of the calling guest thread (0 for main)."""
        return self._ctx.th.tid

    @property
    def function(self) -> str:
        """The import being served, "module.name"."""
        return self._ctx.spec.label

    @property
    def memory(self) -> _GuardedMemory:
        """The caller's linear memory (bounds-checked; raises MemoryFault out of bounds)."""
        return self._ctx.memory

    @property
    def deterministic(self) -> bool:
        """True in fuel mode."""
        return self._ctx.run.deterministic

    def read_string(self, ptr: int, length: int, encoding: str = "utf-8") -> str:
        """Decode `length` bytes of guest memory at `ptr`."""
        return self.memory.read(ptr, length).decode(encoding, "replace")

    def call(self, export: str, *args: float) -> Any:
        """Call an export of the calling instance (re-entrantly); returns None, one value or a tuple.

        The export runs as guest code of the calling thread: preemptible,
        and it may call host functions itself. A trap in it raises
        GuestCallTrap (uncaught, it traps the calling guest code too).
        """
        ctx = self._ctx
        ctx.check_live("call back into the guest")
        if ctx.inline:
            raise GuestCallError(f"host function {ctx.spec.label} is marked @nonblocking: it cannot call back "
                                 f"into the guest ({export}); remove @nonblocking")
        if hostsync.current_context() is not ctx:
            raise GuestCallError(f"GuestCall of {ctx.spec.label} used from another thread or outside its call "
                                 f"(calling {export}): call back into the guest only from the host function itself")
        kind, value = ctx.worker.request(Export(export, args))
        if kind == "error":
            raise GuestCallError(value)
        if kind == "trap":
            message, frames = value
            raise GuestCallTrap(message, frames)
        return value

    def __repr__(self) -> str:
        return f"<GuestCall {self._ctx.spec.label} from thread {self._ctx.th.tid}>"


def current_call() -> GuestCall:
    """The GuestCall of the host function running on this thread."""
    ctx = hostsync.current_context()
    if not isinstance(ctx, _Context):
        raise GuestCallError("current_call(): no guest host call is running on this thread")
    return ctx.call


class _GuardedMemory:
    """Guest memory that refuses access once its host call is over (the store may be gone)."""

    def __init__(self, ctx: _Context) -> None:
        self._ctx = ctx

    def _mem(self) -> Any:
        self._ctx.check_live("access guest memory")
        return self._ctx.guest_thread.memory

    def size(self) -> int:
        with self._ctx.th.mem_lock:
            return int(self._mem().size())

    def read(self, ptr: int, length: int) -> bytes:
        with self._ctx.th.mem_lock:
            return bytes(self._mem().read(ptr, length))

    def write(self, ptr: int, data: bytes) -> None:
        with self._ctx.th.mem_lock:
            self._mem().write(ptr, data)

    def __getattr__(self, name: str) -> Any:
        if not name.startswith(("load_", "store_")):
            raise AttributeError(name)

        def access(*args: int) -> Any:
            with self._ctx.th.mem_lock:
                return getattr(self._mem(), name)(*args)

        return access


# -- the owner of host objects: a guest thread of one execution ------------------------------------


@dataclass(frozen=True)
class GuestOwner:
    """A guest thread as the holder/waiter of a host object."""

    execution: int
    tid: int

    @property
    def label(self) -> str:
        return "thread 0 (main)" if self.tid == 0 else f"thread {self.tid}"


class _Context:
    """The hostsync.WaitContext of one user host call (one level of a guest thread's host call stack)."""

    def __init__(self, run: HostRun, spec: _Spec, th: _ThreadHost, inline: bool) -> None:
        self.run = run
        self.spec = spec
        self.th = th
        self.inline = inline
        self.owner: hostsync.Owner = th.owner
        self.waker = run.waker
        self.function = spec.label
        self.worker: HostWorker = th.worker  # type: ignore[assignment]
        self.guest_thread = th.thread
        self.live = True
        self.acquired: dict[int, Any] = {}  # host locks this call took and still holds (for reports)
        self.call = GuestCall(self)
        self.memory = _GuardedMemory(self)

    def check_live(self, what: str) -> None:
        if not self.live:
            raise GuestCallError(f"host function {self.spec.label} tried to {what} after its call "
                                 "ended (the guest has exited or the call was abandoned)")

    # hostsync.WaitContext
    def scheduling_point(self) -> None:
        if self.inline or not self.run.serial:
            return
        self.worker.request(YIELD)

    def park(self, ready: Callable[[], bool], timeout_ns: int | None, describe: str,
             external: bool = False) -> bool:
        if self.inline:
            raise hostsync.HostSyncError(f"host function {self.spec.label} is marked @nonblocking but would wait "
                                         f"on {describe}; remove @nonblocking")
        result = self.worker.request(Park(Until(ready=ready, timeout_ns=timeout_ns, describe=describe,
                                                external=external)))
        return result is WaitResult.READY

    def sleep_ns(self, ns: int) -> None:
        if self.inline:
            raise hostsync.HostSyncError(f"host function {self.spec.label} is marked @nonblocking but sleeps")
        self.worker.request(Park(Sleep(ns)))

    def now_ns(self) -> int:
        ex = self.run.execution
        assert ex is not None
        return int(ex.clock.now_ns())

    def touch(self, obj: Any) -> None:
        self.run.touched[id(obj)] = obj

    def emit(self, event: object) -> None:
        """Host lock events go to the execution's observers (extensions), as HostCall.emit does."""
        kind, lock = getattr(event, "kind", None), getattr(event, "lock", None)
        if kind in ("acquired", "try-acquired"):
            self.acquired[id(lock)] = lock
        elif kind == "released":
            self.acquired.pop(id(lock), None)
        emit = getattr(self.guest_thread.call, "emit", None)
        if emit is not None:
            emit(event)


@dataclass
class _Level:
    """What a host call level contributes to its guest thread's backtrace in a report."""

    header: str
    python: list[str]
    nested_frames: list[str] | None  # the frames of its call back into the guest, when that was stopped


class _ThreadHost:
    """Per guest thread: its worker, its export cache, and report levels."""

    def __init__(self, run: HostRun, thread: GuestThread) -> None:
        self.run = run
        self.thread = thread
        self.tid = thread.tid
        self.owner = GuestOwner(run.key, thread.tid)
        self.worker: HostWorker | None = None
        self.mem_lock = threading.Lock()
        self.exports: dict[str, tuple[Any, tuple[ValType, ...], tuple[ValType, ...]] | None] = {}
        self.levels: list[_Level] = []  # innermost first (the order they are stopped in)
        self.sessions: list[_Session] = []  # active worker calls, outermost first

    def get_worker(self) -> HostWorker:
        w = self.worker
        if w is None or w.abandoned:
            w = self.worker = acquire_worker(f"wasmconc-host-{self.tid}")
        return w

    def decorate(self, outer: list[str]) -> list[str]:
        """The thread's frames with each stopped host call (and the guest code it called) spliced in."""
        below = outer
        chunks: list[tuple[list[str], list[str]]] = []
        for lv in reversed(self.levels):  # outermost first
            above: list[str] = []
            if lv.nested_frames is not None:
                above = lv.nested_frames[:max(0, len(lv.nested_frames) - len(below))]
                below = lv.nested_frames
            chunks.append((above, [lv.header] + [f"  {ln}" for ln in lv.python]))
        out: list[str] = []
        for above, host in reversed(chunks):
            out += above + host
        return out + outer

    def export(self, name: str) -> tuple[Any, tuple[ValType, ...], tuple[ValType, ...]] | str:
        """The export `name` of this thread's instance as (func, params, results), or why not."""
        from ..machine.threads import Phase

        t = self.thread
        if t.phase is not Phase.RUNNING or t.store is None or t._raw_instance is None:
            return (f"cannot call {name!r}: the guest instance is still being instantiated (a host function "
                    "called from the module's start function cannot call its exports yet)")
        if name not in self.exports:
            inst = wasmtime.Instance._from_raw(t._raw_instance)
            exports = inst.exports(t.store)
            item = exports.get(name)
            if not isinstance(item, wasmtime.Func):
                self.exports[name] = None
            else:
                # From the program's bytes, never str(ValType): a v128 one aborts the process.
                sig = getattr(t.execution.program, "export_sigs", {}).get(name)
                if sig is None:
                    return f"cannot call {name!r}: only exports with numeric parameters and results are supported"
                self.exports[name] = (item, sig[0], sig[1])
        entry = self.exports[name]
        if entry is None:
            funcs = sorted(k for k, v in t.execution.program.exports.items() if v == "func")
            return f"the guest has no function export {name!r} (its function exports: {', '.join(funcs) or 'none'})"
        return entry


# -- one execution's user imports ----------------------------------------------------------------------

_run_keys = itertools.count(1)


class HostRun:
    """The user imports of one execution: checked specs, per-thread workers, the report additions."""

    def __init__(self, program: Program, imports: UserImports, settings: RunSettings) -> None:
        self.key = next(_run_keys)
        self.specs, self.passthrough = bind(program, imports)
        self.settings = settings
        self.serial = settings.preempt is not Preempt.OS
        self.deterministic = settings.preempt is Preempt.FUEL
        self.blocking_timeout = imports.blocking_timeout
        self.execution: Execution | None = None
        self.waker: Callable[[], None] = lambda: None
        self.threads: dict[int, _ThreadHost] = {}
        self.touched: dict[int, Any] = {}
        self.notes: list[str] = []
        self.snapshot: list[str] | None = None
        self._wall_deadline: float | None = None

    @classmethod
    def create(cls, program: Program, imports: ImportsSpec | None,
               settings: RunSettings) -> HostRun | None:
        spec = UserImports.of(imports)
        return None if spec is None else cls(program, spec, settings)

    def functions(self) -> list[HostFunction]:
        out = list(self.passthrough)
        for spec in self.specs:
            out.append(HostFunction(spec.module, spec.name, spec.params, spec.results, self._impl(spec),
                                    doc=(getattr(spec.fn, "__doc__", None) or "").strip()))
        return out

    def attach(self, ex: Execution) -> None:
        self.execution = ex
        self.waker = ex.poke
        if self.settings.timeout:
            self._wall_deadline = time.monotonic() + self.settings.timeout

    def thread_host(self, thread: GuestThread) -> _ThreadHost:
        th = self.threads.get(thread.tid)
        if th is None or th.thread is not thread:
            th = self.threads[thread.tid] = _ThreadHost(self, thread)
        return th

    def wait_limit(self) -> tuple[float | None, str]:
        """How long the fiber side waits for a host function, and what it is then reported as."""
        limit, kind = self.blocking_timeout, "blocking"
        if self._wall_deadline is not None:
            left = max(0.0, self._wall_deadline - time.monotonic())
            if limit is None or left < limit:
                limit, kind = left, "wall"
        return limit, kind

    # -- the host function the runtime calls ---------------------------------------------------------

    def _impl(self, spec: _Spec) -> Callable[..., Any]:
        def impl(call: Any, *args: Any) -> Any:
            thread = call._thread
            th = self.thread_host(thread)
            if spec.inline:
                return self._run_inline(spec, th, thread, args)
            session = _Session(self, spec, th, thread)
            return session.start(args)

        impl.__name__ = f"user import {spec.label}"
        return impl

    def _run_inline(self, spec: _Spec, th: _ThreadHost, thread: GuestThread, args: tuple[Any, ...]) -> Any:
        ctx = _Context(self, spec, th, inline=True)
        prev = hostsync.swap_context(ctx)
        try:
            value = spec.fn(*((ctx.call,) + args if spec.takes_call else args))
            return check_results(spec, value)
        except BaseException as exc:
            return hostcalls.trap_request(failure_message(thread, spec, exc))
        finally:
            ctx.live = False
            hostsync.swap_context(prev)

    # -- the end ----------------------------------------------------------------------------------------

    def take_snapshot(self) -> None:
        """Remember the host objects' states before stopping threads releases anything (for the report)."""
        if self.snapshot is None:
            self.snapshot = [repr(obj) for obj in list(self.touched.values())]

    def close(self) -> None:
        """After the execution: stop what is left, release what its threads still hold, pool the workers."""
        for th in self.threads.values():
            for s in reversed(list(th.sessions)):
                s.shutdown()
            if th.worker is not None:
                release_worker(th.worker)
                th.worker = None
        mine = self.key
        for obj in list(self.touched.values()):
            forget = getattr(obj, "_forget", None)
            if forget is not None:
                self.notes += forget(lambda o: isinstance(o, GuestOwner) and o.execution == mine)

    def finish(self, outcome: Outcome) -> None:
        """Add the host side to the outcome's report."""
        lines: list[str] = []
        if outcome.status in (Status.DEADLOCK, Status.HANG) and self.snapshot:
            lines.append("host objects:")
            lines += [f"  {s}" for s in self.snapshot]
        lines += [f"note: {n}" for n in self.notes]
        if lines:
            outcome.report = outcome.report.rstrip("\n") + "\n" + "\n".join(lines)


# -- results and failures -------------------------------------------------------------------------------


def check_results(spec: _Spec, value: Any) -> Any:
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
        bounds = _RANGE.get(rtypes[0])
        if bounds is not None and bounds[0] <= value <= bounds[1]:
            return value
    values = list(value) if isinstance(value, (tuple, list)) else [value]
    if len(values) != len(rtypes):
        raise TypeError(f"host function {spec.label} returned {value!r}, but the guest expects "
                        f"({_types_text(rtypes)})")
    for v, t in zip(values, rtypes):
        bounds = _RANGE.get(t)
        if bounds is not None:
            if not isinstance(v, int):
                raise TypeError(f"host function {spec.label} returned {value!r}, but the guest expects "
                                f"({_types_text(rtypes)}): {v!r} is not an int")
            if not bounds[0] <= v <= bounds[1]:
                raise TypeError(f"host function {spec.label} returned {v}, out of range for {t.value}")
        elif not isinstance(v, (int, float)) or isinstance(v, bool):
            raise TypeError(f"host function {spec.label} returned {value!r}, but the guest expects "
                            f"({_types_text(rtypes)}): {v!r} is not a number")
    return value


def failure_message(thread: GuestThread, spec: _Spec, exc: BaseException) -> str:
    """Apply what an exception out of a host function means; return the trap message for the caller."""
    from ..machine.execution import EXIT_MARK

    ex = thread.execution
    if isinstance(exc, GuestExit):
        ex.request_exit(exc.code, thread)
        return EXIT_MARK
    if isinstance(exc, HostCallAborted):
        return thread.kill_message or EXIT_MARK
    if isinstance(exc, GuestTrap):
        return str(exc)
    if isinstance(exc, MemoryFault):
        return f"out of bounds memory access: {exc}"
    hf = HostFunction(spec.module, spec.name, spec.params, spec.results, spec.fn)
    ex.host_failed(thread, hf, exc)
    return f"host function {spec.label} raised {type(exc).__name__}: {exc}"


# -- the fiber side of one host call -----------------------------------------------------------------------

_RUNNING, _PARKED, _NESTED, _ABANDONED, _OVER = "running", "parked", "nested", "abandoned", "over"


class _Session:
    """One user host call in flight, driven from the guest thread's side (see hostworker.py).

    To the native layer it is the "generator" of a pending async host call;
    the router hands each continuation poll to `resume_pending` (it steps
    itself instead of yielding Waits, because a call back into the guest
    parks and resumes through the nested call's own host calls).
    """

    def __init__(self, run: HostRun, spec: _Spec, th: _ThreadHost, thread: GuestThread) -> None:
        self.run = run
        self.spec = spec
        self.th = th
        self.thread = thread
        self.worker = th.get_worker()
        self.ctx = _Context(run, spec, th, inline=False)
        self.state = _RUNNING
        self.msg: Any = None
        self.nested: calls.CallFuture | None = None
        self.nested_results: tuple[ValType, ...] = ()

    # The Generator protocol the native layer expects (only close() is used).
    def send(self, value: Any) -> Any:
        raise StopIteration

    def throw(self, *exc: Any) -> Any:
        raise StopIteration

    def close(self) -> None:
        """The guest's future was deleted with this call pending (the guest is ending)."""
        self.shutdown()

    def __iter__(self) -> _Session:
        return self

    def __next__(self) -> Any:
        raise StopIteration

    # -- start (inside the host callback) ----------------------------------------------------------

    def start(self, args: tuple[Any, ...]) -> Any:
        """Run the function; return its results, a trap request, or self (it waits or calls back)."""
        spec = self.spec
        call_args = (self.ctx.call,) + args if spec.takes_call else args
        self.th.sessions.append(self)
        self.worker.send(RunCall(spec.fn, call_args, self.ctx))
        msg = self._receive()
        if isinstance(msg, (Done, Raised)) or msg is ABORTED:
            kind, value = self._settle(msg)  # type: ignore[misc]
            self._over()
            return value if kind == "results" else hostcalls.trap_request(value)
        if msg is TIMEOUT:
            return self  # abandoned: the thread is stopped at its next poll
        # It waits or calls back: the continuation (polled right after this
        # callback returns) acts on it, so that a wait begins where the
        # driver expects waits to begin.
        self.msg = msg
        return self

    # -- each poll of the continuation ---------------------------------------------------------------

    def resume_pending(self, pending: Any) -> bool:
        from ..machine.threads import THREADS

        thread = self.thread
        if THREADS.get(pending.store_key) is not thread:
            pending.write_trap("wasmconc: guest thread is gone")
            self.shutdown()
            return True
        ex = thread.execution
        while True:
            stopping = thread.kill_message is not None or ex.end is not None
            if self.state is _NESTED:
                fut = self.nested
                assert fut is not None
                if not fut.poll():
                    return False  # the callback was preempted or parked (its own host call set the wait)
                self.nested = None
                failure = fut.failure
                values = None if failure is not None else fut.result_values()
                fut.close()
                stopping = thread.kill_message is not None or ex.end is not None
                if stopping:
                    frames = [str(f) for f in failure.frames] if failure is not None else None
                    return self._stop(pending, nested_frames=frames)
                if failure is not None:
                    from ..machine.execution import trap_reason

                    reply: Any = ("trap", (trap_reason(failure.message), [str(f) for f in failure.frames]))
                else:
                    reply = ("ok", _export_value(values or [], self.nested_results))
                self.state = _RUNNING
                self.worker.send(Reply(reply))
                msg = self._receive()
            elif self.state is _PARKED:
                if stopping:
                    return self._stop(pending)
                value, thread.wait = thread.wake_result, None
                self.state = _RUNNING
                self.worker.send(Reply(value))
                msg = self._receive()
            elif self.state is _ABANDONED:
                if thread.kill_message is not None:
                    return self._stop(pending)
                return False  # the hang is declared; the driver stops this thread next (for its backtrace)
            elif self.msg is not None:
                msg, self.msg = self.msg, None
            else:
                pending.write_trap("wasmconc: internal error: host call resumed after it ended")
                return True
            outcome = self._settle(msg)
            if outcome is not None:
                kind, value = outcome
                self._over()
                if kind == "results":
                    try:
                        pending.write_results(value)
                    except TypeError as exc:
                        pending.write_trap(failure_message(thread, self.spec, exc))
                else:
                    pending.write_trap(value)
                return True
            if self.state is _NESTED:
                continue  # poll the callback right away
            return False

    # -- helpers --------------------------------------------------------------------------------------

    def _receive(self) -> Any:
        """The worker's next message; TIMEOUT when the watchdog (or a kill) gives up on it."""
        limit, kind = self.run.wait_limit()
        waited = 0.0
        t = self.thread
        while True:
            step = _POLL_S if limit is None else min(_POLL_S, max(0.0, limit - waited))
            msg = self.worker.receive(step)
            if msg is not TIMEOUT:
                return msg
            waited += step
            if limit is not None and waited >= limit:
                self._watchdog(waited, kind)
                return TIMEOUT
            if t.kill_message is not None and waited >= 1.0:
                self._watchdog(waited, "killed")
                return TIMEOUT

    def _watchdog(self, waited: float, kind: str) -> None:
        from ..report import hang_message

        stack = self.worker.python_stack()
        python = stack[len(self.th.sessions) - 1] if len(stack) >= len(self.th.sessions) else \
            (stack[-1] if stack else [])
        ex = self.thread.execution
        label = self.spec.label
        if kind == "wall":
            message = hang_message("timeout", self.run.settings.timeout) + \
                f" (in host function {label}, which has not returned)"
        elif kind == "killed":
            message = f"host function {label} did not return when the guest was stopped"
        else:
            message = (f"host function {label} has run for {waited:g} s without returning or waiting on a "
                       "host object: it may be blocked on something the scheduler cannot see "
                       "(a threading lock, I/O, time.sleep); use pytest_wasmconc.host objects instead")
        if kind != "killed":
            self.run.take_snapshot()
            ex.declare(Status.HANG, message, limit="timeout" if kind == "wall" else None)
        with self.th.mem_lock:
            self.ctx.live = False
        self.worker.abandon()
        self.th.levels.append(_Level(f"[host function {label}] (running, not returning)", python, None))
        self.thread.decorate_frames = self.th.decorate
        self.state = _ABANDONED

    def _settle(self, msg: Any) -> tuple[str, Any] | None:
        """Act on a worker message: ("results", v) / ("trap", message) when the call is over, else None."""
        thread = self.thread
        ex = thread.execution
        if msg is TIMEOUT:
            return None  # _ABANDONED: resume_pending returns False until the thread is stopped
        if isinstance(msg, Done):
            try:
                return "results", check_results(self.spec, msg.value)
            except TypeError as exc:
                return "trap", failure_message(thread, self.spec, exc)
        if isinstance(msg, Raised):
            return "trap", failure_message(thread, self.spec, msg.exc)
        if msg is ABORTED:
            from ..machine.execution import EXIT_MARK

            return "trap", thread.kill_message or EXIT_MARK
        if isinstance(msg, Park):
            ex.begin_wait(thread, msg.wait)
            self.state = _PARKED
            return None
        if msg is YIELD:
            ex.begin_wait(thread, Yield())
            self.state = _PARKED
            return None
        if isinstance(msg, Export):
            problem = self._start_export(msg)
            if problem is not None:
                self.worker.send(Reply(("error", problem)))
                return self._settle(self._receive())
            self.state = _NESTED
            return None
        return "trap", f"wasmconc: internal error: host worker sent {msg!r}"

    def _start_export(self, req: Export) -> str | None:
        found = self.th.export(req.name)
        if isinstance(found, str):
            return f"host function {self.spec.label}: {found}"
        func, params, results = found
        if len(req.args) != len(params):
            return (f"host function {self.spec.label}: export {req.name} takes ({_types_text(params)}) "
                    f"-> ({_types_text(results)}), called with {len(req.args)} argument"
                    f"{'s' if len(req.args) != 1 else ''}")
        typed: list[tuple[ValType, int | float]] = []
        for v, t in zip(req.args, params):
            if t in _RANGE:
                if isinstance(v, bool) or not isinstance(v, int):
                    return f"host function {self.spec.label}: export {req.name}: {v!r} is not an int for {t.value}"
                lo, hi = _RANGE[t]
                if not lo <= v <= hi:
                    return f"host function {self.spec.label}: export {req.name}: {v} is out of range for {t.value}"
            elif not isinstance(v, (int, float)) or isinstance(v, bool):
                return f"host function {self.spec.label}: export {req.name}: {v!r} is not a number for {t.value}"
            typed.append((t, v))
        store = self.thread.store
        assert store is not None
        self.nested = calls.func_call_async(store, func, typed, len(results))
        self.nested_results = results
        return None

    def _stop(self, pending: Any, nested_frames: list[str] | None = None) -> bool:
        """The guest thread is being stopped (a report) or the guest ended: unwind this call, trap."""
        from ..machine.execution import EXIT_MARK

        thread = self.thread
        if thread.kill_message is not None:
            self.run.take_snapshot()
            if self.state is not _ABANDONED:
                levels = self.worker.python_stack()
                depth = self._depth()
                python = levels[depth] if depth < len(levels) else []
                self.th.levels.append(_Level(self._header(), python, nested_frames))
                thread.decorate_frames = self.th.decorate
        self._unwind()
        pending.write_trap(thread.kill_message or EXIT_MARK)
        return True

    def _depth(self) -> int:
        try:
            return self.th.sessions.index(self)
        except ValueError:
            return 0

    def _header(self) -> str:
        mine = self.th.owner
        held = [obj.label for obj in list(self.ctx.acquired.values()) if getattr(obj, "owner", None) == mine]
        what = f" (holds {', '.join(held)})" if held else ""
        return f"[host function {self.spec.label}]{what}"

    def _unwind(self) -> None:
        """Stop the worker's part of this call (idempotent)."""
        if self.state in (_OVER,):
            return
        if self.nested is not None:
            fut, self.nested = self.nested, None
            fut.close()  # runs the finalizers of host calls pending inside the callback first
        if self.state in (_PARKED, _NESTED):
            with self.th.mem_lock:
                self.ctx.live = False
            self.worker.abort(_ABORT_GRACE_S)
        self._over()

    def shutdown(self) -> None:
        self._unwind()

    def _over(self) -> None:
        self.state = _OVER
        self.ctx.live = False
        try:
            self.th.sessions.remove(self)
        except ValueError:
            pass


def _export_value(values: list[int | float], results: tuple[ValType, ...]) -> Any:
    out: list[int | float] = []
    for v, t in zip(values, results):
        if t is ValType.I32:
            out.append(int(v) & 0xFFFF_FFFF if int(v) < 0 else int(v))
        elif t is ValType.I64:
            out.append(int(v) & 0xFFFF_FFFF_FFFF_FFFF if int(v) < 0 else int(v))
        else:
            out.append(v)
    if not out:
        return None
    return out[0] if len(out) == 1 else tuple(out)

