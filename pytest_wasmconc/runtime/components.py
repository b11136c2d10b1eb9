"""WASI 0.2 components under the runtime's drivers (fuel slices, epochs, OS threads).

wasmtime-py 50 has no Python wrappers for async component calls, but its
bindings have them (`wasmtime_component_linker_instantiate_async`,
`wasmtime_component_func_call_async`, `wasmtime_component_linker_instance_add_func_async`):
a component's `wasi:cli/run.run` is a call future polled like a core guest's
`_start`, sliced by fuel (or epochs), and its host functions are async, so a
blocking one (a generator yielding `Wait`s, hostapi.py) parks the guest in the
runtime exactly like a core guest's. A component is one guest thread.

Every import of the component is defined from `HostFunction`s keyed by the
interface name without its version and the function name (streams/wasi2.py
gives the WASI 0.2 ones; host functions passed in override them); imports
nobody provides trap with a message naming them. Host resources cross as
their `rep` (an int); a host function creating one returns `Own(kind, rep)`.
"""

from __future__ import annotations

import ctypes
import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import wasmtime
from wasmtime import StoreContext
from wasmtime import _ffi as ffi
from wasmtime import component as cm

from ..instrument.locator import located
from .drivers.driving import drive, stamp_schedule
from .loading.engine import engine_for
from .wasmtime import calls, hostcalls
from .component_values import lift, lower, resource_id, resource_kind
from .errors import ModuleError
from .machine.execution import Execution
from .machine.routing import ROUTER
from .hostapi import GuestTrap, HostFunction
from .outcome import Outcome
from .loading.kind import is_component
from .loading.program import read_guest_bytes
from .settings import EngineSettings, RunSettings
from .machine.threads import THREADS, GuestThread, Phase, ThreadState

if TYPE_CHECKING:
    from .extensions import Extension
    from .guestio import GuestIO
    from .worlds import Worlds

__all__ = ["ComponentProgram", "execute_component", "is_component", "load_component"]

RUN_INTERFACE = "wasi:cli/run"


# -- the program ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedInstance:
    name: str  # as the component imports it, with its version
    funcs: tuple[str, ...]
    resources: tuple[str, ...]

    @property
    def base(self) -> str:
        return self.name.split("@", 1)[0]


@dataclass(eq=False)
class ComponentProgram:
    """A compiled component, ready to be executed any number of times."""

    name: str
    wasm: bytes
    component: cm.Component
    engine_settings: EngineSettings
    instances: list[ImportedInstance]
    run_export: str  # e.g. "wasi:cli/run@0.2.0"
    linkers: dict[Any, cm.Linker] = field(default_factory=dict, repr=False)
    # what Execution and the reports look at on a Program
    func_imports: list[Any] = field(default_factory=list)
    other_imports: list[Any] = field(default_factory=list)
    memory_import: Any = None

    @property
    def engine(self) -> wasmtime.Engine:
        return engine_for(self.engine_settings)

    def import_names(self) -> list[tuple[str, str]]:
        """(interface without version, function) of every imported function."""
        return [(inst.base, f) for inst in self.instances for f in inst.funcs]

    def frame_text(self, func: str | None, func_index: int, offset: int) -> str:
        """A wasm frame as reports print it (Program.frame_text). A component runs as it was
        built (no rewriting), so the offset is Wasmtime's own (within its core module)."""
        return located(func, func_index, offset)


_compiled: dict[tuple[EngineSettings, str], cm.Component] = {}
_compiled_lock = threading.Lock()


def load_component(source: Any, engine_settings: EngineSettings) -> ComponentProgram:
    """Read and compile a component (compiled once per process per bytes and settings)."""
    if isinstance(source, ComponentProgram):
        if source.engine_settings == engine_settings:
            return source
        name, data = source.name, source.wasm
    else:
        name, data = read_guest_bytes(source)
    engine = engine_for(engine_settings)
    key = (engine_settings, hashlib.sha256(data).hexdigest())
    with _compiled_lock:
        comp = _compiled.get(key)
        if comp is None:
            try:
                comp = cm.Component(engine, data)
            except wasmtime.WasmtimeError as exc:
                first_line = str(exc).strip().splitlines()[0]
                raise ModuleError(f"{name}: invalid WebAssembly component: {first_line}") from None
            _compiled[key] = comp
    instances = []
    for iname, ext in comp.type.imports(engine).items():
        ty = ext.ty
        if not isinstance(ty, cm.ComponentInstanceType):
            raise ModuleError(f"{name}: imports {iname!r}, which is not an instance (only interfaces are supported)")
        funcs, resources = [], []
        for ename, item in ty.exports(engine).items():
            if isinstance(item.ty, cm.ResourceType):
                resources.append(ename)
            elif isinstance(item.ty, cm.FuncType):
                funcs.append(ename)
            # other exports of an interface are value types: nothing to define
        instances.append(ImportedInstance(iname, tuple(funcs), tuple(resources)))
    run = [n for n in comp.type.exports(engine) if n.split("@", 1)[0] == RUN_INTERFACE]
    if not run:
        raise ModuleError(f"{name}: exports no {RUN_INTERFACE} interface (not a WASI command component)")
    return ComponentProgram(name, data, comp, engine_settings, instances, run[0])


# -- resources --------------------------------------------------------------------------------------

@ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.POINTER(ffi.wasmtime_context_t), ctypes.c_uint32)
def _resource_dtor(env, context, rep):  # type: ignore[no-untyped-def]
    """A guest dropped a host resource: tell the execution's host (never raise into Rust)."""
    try:
        thread = THREADS.get(_store_key(context))
        if thread is not None:
            host = getattr(thread.execution, "component_host", None)
            if host is not None:
                host.drop_resource(resource_kind(env or 0), rep, thread.tid)
    except BaseException:  # noqa: BLE001, S110 - a drop must not fail the guest
        pass
    return 0


_NO_FINALIZER = ctypes.cast(None, ctypes.CFUNCTYPE(None, ctypes.c_void_p))  # type: ignore[arg-type]


def _store_key(context: Any) -> int:
    """The key capi.set_store_key gave the store of `context` (0: none)."""
    return cast(int, ffi.wasmtime_context_get_data(context) or 0)


# -- host functions ------------------------------------------------------------------------------------


@dataclass
class _ComponentBinding:
    """What the native callback of one imported function routes by (like hostcalls.Binding)."""

    impl: tuple[str, str]  # the HostFunction key: (interface without version, function)


class _ComponentPending:
    """A blocked component host call, resumed through ROUTER like a core one (hostcalls.Pending)."""

    __slots__ = ("binding", "ctx", "err_ret", "gen", "key", "result_ty", "results", "state", "store_key")

    def __init__(self, key: int, binding: _ComponentBinding, gen: Any, store_key: int, ctx: Any,
                 result_ty: Any, results: Any, err_ret: Any) -> None:
        self.key = key
        self.binding = binding
        self.gen = gen
        self.store_key = store_key
        self.ctx = ctx  # the store context of the call; the store outlives the pending call
        self.result_ty = result_ty
        self.results = results
        self.err_ret = err_ret
        self.state: Any = None

    def write_results(self, value: Any) -> None:
        _write_result(self.ctx, self.result_ty, self.results, value)

    def write_trap(self, message: str) -> None:
        # Wasmtime reads the error only when the callback itself returns: after a wait, the
        # results are left unwritten (so the call fails) and the thread keeps the real message.
        self.err_ret[0] = ffi.wasmtime_error_new(message.encode())
        thread = THREADS.get(self.store_key)
        if isinstance(thread, ComponentThread):
            thread.late_trap = message


def _write_result(ctx: Any, result_ty: Any, results: Any, value: Any) -> None:
    if result_ty is None:
        if value is not None:
            raise TypeError(f"a component host function without results returned {value!r}")
        return
    store = StoreContext(ctx)
    try:
        result_ty.convert_to_c(store, lower(result_ty, value), results)
    finally:
        store._invalidate()


_CBINDINGS: dict[int, _ComponentBinding] = {}
_CPENDING: dict[int, _ComponentPending] = {}
_ckeys = iter(range(1, 1 << 62))
_clock = threading.Lock()


@ffi.wasmtime_func_async_continuation_callback_t
def _done(env: Any) -> bool:
    return True


@ffi.wasmtime_func_async_continuation_callback_t
def _resume(env: Any) -> bool:
    pending = _CPENDING.get(env or 0)
    if pending is None:
        return True
    try:
        finished = ROUTER.resume(pending)
    except BaseException as exc:  # noqa: BLE001 - never unwind into Rust
        pending.write_trap(f"wasmconc: internal error resuming host call: {exc!r}")
        finished = True
    if finished:
        with _clock:
            _CPENDING.pop(pending.key, None)
    return finished


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def _pending_finalizer(env: Any) -> None:
    with _clock:
        pending = _CPENDING.pop(env or 0, None)
    if pending is not None:
        try:
            pending.gen.close()
        except BaseException:  # noqa: BLE001, S110 - closing an abandoned call must not raise into Rust
            pass


@ffi.wasmtime_component_func_async_callback_t
def _trampoline(env, ctx, ty_raw, args, nargs, results, nresults, err_ret, cont_ret):  # type: ignore[no-untyped-def]
    binding = _CBINDINGS[env or 0]
    cont = cont_ret.contents
    cont.callback = _done
    cont.env = None
    try:
        fty = cm.FuncType._from_ptr(ty_raw, owner=True)
        result_ty = fty.result
        store = StoreContext(ctx)
        try:
            pyargs = [lift(ty.convert_from_c(args[i]), store) for (_, ty), i in zip(fty.params, range(nargs))]
        finally:
            store._invalidate()
        store_key = _store_key(ctx)
        outcome = ROUTER.invoke(store_key, binding, pyargs)
        if isinstance(outcome, hostcalls.TrapRequest):
            err_ret[0] = ffi.wasmtime_error_new(outcome.message.encode())
        elif hasattr(outcome, "send") and hasattr(outcome, "throw"):  # a generator: a blocking call
            with _clock:
                key = next(_ckeys)
            pending = _ComponentPending(key, binding, outcome, store_key, ctx, result_ty, results, err_ret)
            # Run it up to its first wait now: a trap before any wait must reach Wasmtime from here.
            if not ROUTER.resume(pending):
                with _clock:
                    _CPENDING[key] = pending
                cont.callback = _resume
                cont.env = key
                cont.finalizer = _pending_finalizer
        else:
            _write_result(ctx, result_ty, results, outcome)
    except BaseException as exc:  # noqa: BLE001 - never unwind into Rust
        msg = f"wasmconc: internal error in component host call {binding.impl[0]}.{binding.impl[1]}: {exc!r}"
        err_ret[0] = ffi.wasmtime_error_new(msg.encode())


_linker_lock = threading.Lock()


def component_linker(program: ComponentProgram) -> cm.Linker:
    """One linker per program: every import is an async host function routed through ROUTER."""
    with _linker_lock:
        linker = program.linkers.get("async")
        if linker is not None:
            return linker
        linker = cm.Linker(program.engine)
        with linker.root() as root:
            for inst in program.instances:
                with root.add_instance(inst.name) as li:
                    for res in inst.resources:
                        rid = resource_id(res)
                        rtype = cm.ResourceType.host(rid)
                        nb = res.encode()
                        err = ffi.wasmtime_component_linker_instance_add_resource(
                            li.ptr(), ctypes.create_string_buffer(nb), len(nb), rtype.ptr(), _resource_dtor,
                            rid, _NO_FINALIZER)
                        if err:
                            raise wasmtime.WasmtimeError._from_ptr(err)
                    for fname in inst.funcs:
                        key = next(_ckeys)
                        _CBINDINGS[key] = _ComponentBinding((inst.base, fname))
                        nb = fname.encode()
                        err = ffi.wasmtime_component_linker_instance_add_func_async(
                            li.ptr(), ctypes.create_string_buffer(nb), len(nb), _trampoline, key, _NO_FINALIZER)
                        if err:
                            raise wasmtime.WasmtimeError._from_ptr(err)
        program.linkers["async"] = linker
        return linker


# -- the execution ----------------------------------------------------------------------------------------


class ComponentExecution(Execution):
    """An Execution whose one guest thread runs a component's `wasi:cli/run.run`."""

    program: ComponentProgram  # type: ignore[assignment]

    def __init__(self, program: ComponentProgram, settings: RunSettings, host_functions: Sequence[HostFunction],
                 *, component_host: Any = None, observers: Sequence[Any] = ()) -> None:
        self.component_host = component_host
        self.run_failed = False
        super().__init__(program, settings, host_functions, observers=observers)  # type: ignore[arg-type]

    def _builtins(self) -> list[HostFunction]:
        return []

    def _resolve_imports(self, provided: list[HostFunction]) -> None:
        by_key = {hf.key: hf for hf in provided}  # later providers override earlier ones
        for key in self.program.import_names():
            hf = by_key.get(key)
            if hf is None:
                hf = HostFunction(key[0], key[1], (), (), _missing(key))
            self.impls[key] = hf

    def link(self, main_store: wasmtime.Store) -> None:
        self.component_linker: cm.Linker = component_linker(self.program)

    def new_thread(self, start_arg: int | None) -> GuestThread:
        t = super().new_thread(start_arg)
        t.__class__ = ComponentThread
        return t

    def thread_finished(self, thread: GuestThread) -> None:
        if thread.failure is None and self.run_failed:
            self.request_exit(1, thread)  # run returned err: exit code 1, as the wasmtime CLI does
            return
        super().thread_finished(thread)


def _missing(key: tuple[str, str]) -> Callable[..., Any]:
    def trap(call: Any, *args: Any) -> Any:
        raise GuestTrap(f"wasmconc: {key[0]}.{key[1]} is not provided by this host")
    return trap


class ComponentThread(GuestThread):
    """The component's only guest thread: instantiate, then call `run`."""

    def begin_instantiate(self) -> None:
        ex = cast(ComponentExecution, self.execution)
        assert self.store is not None
        fut = calls.CallFuture()
        inst = ffi.wasmtime_component_instance_t()
        fut._future = ffi.wasmtime_component_linker_instantiate_async(
            ex.component_linker.ptr(), self.store._context(), ex.program.component.ptr(), ctypes.byref(inst),
            ctypes.byref(fut._error))
        fut._keep = (ex.component_linker, self.store, ex.program.component, inst)
        self.future = fut
        self._raw_instance = inst
        self.state = ThreadState.RUNNABLE

    def _begin_call(self) -> None:
        ex = cast(ComponentExecution, self.execution)
        assert self.store is not None and self.future is not None
        self.future.close()
        self.phase = Phase.RUNNING
        instance = cm.Instance._from_raw(self._raw_instance)
        run_iface = instance.get_export_index(self.store, ex.program.run_export)
        run = instance.get_export_index(self.store, "run", run_iface) if run_iface is not None else None
        func = instance.get_func(self.store, run) if run is not None else None
        if func is None:
            raise RuntimeError(f"{ex.program.run_export}.run vanished after load-time checks")
        fut = calls.CallFuture()
        result = ffi.wasmtime_component_val_t()
        fut._future = ffi.wasmtime_component_func_call_async(
            ctypes.byref(func._func), self.store._context(), None, 0, ctypes.byref(result), 1,
            ctypes.byref(fut._error))
        fut._keep = (self.store, func, result)
        self._run_result = result
        self.future = fut

    late_trap: str | None = None  # a trap a blocking host call raised after it waited

    def poll(self) -> bool:
        finished = super().poll()
        if finished and self.failure is not None and self.late_trap is not None:
            self.failure.message = self.late_trap
        if finished and self.failure is None and self.phase is Phase.DONE:
            res = self._run_result
            if res.kind == ffi.WASMTIME_COMPONENT_RESULT.value and not res.of.result.is_ok:
                self.execution.run_failed = True  # type: ignore[attr-defined]
        return finished


# -- running one ------------------------------------------------------------------------------------------


def execute_component(program: ComponentProgram, io: GuestIO, settings: RunSettings,
                      host_functions: Sequence[HostFunction] = (), *,
                      extensions: Sequence[Extension] = (), worlds: Worlds) -> Outcome:
    """Run a component once under `settings` (the counterpart of Runner.execute)."""
    if io.dirs:
        raise ModuleError(f"{program.name}: preopened directories are not supported for components")
    if io.wasi != "sandbox":
        raise ModuleError(f"{program.name}: --wasi {io.wasi} is for core modules; components get the "
                          "stream-observing WASI 0.2 host")
    attachments = [ext.attach(program, settings) for ext in extensions]  # type: ignore[arg-type]
    argv = [io.program_name or Path(program.name).name] + list(io.args)
    world = worlds.component(program, io, argv, attachments)
    functions = list(world.functions()) + list(host_functions)
    started = time.perf_counter()
    ex = ComponentExecution(program, settings, functions, component_host=world, observers=attachments)
    recording = drive(ex, settings)
    outcome = ex.outcome(world.output("stdout"), world.output("stderr"), time.perf_counter() - started)
    stamp_schedule(outcome, settings, recording)
    for a in attachments:
        a.finished(outcome, None)
    return outcome
