"""A guest program: bytes read, checked, instrumented, compiled and described.

Loading is where every "this is not something we can run" error is found,
each with one line naming the file and the reason.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import wasmtime

# The instrumenter is imported where a guest is first loaded: a program the compile cache saved
# (saved.py) needs none of it, and importing it was a fifth of `wasmconc run`'s start-up.
from ...instrument.abi import (ACCESS_COST, BUDGET_EXPORT, GLOBAL_EXPORT_PREFIX, HOT_ACCESS_COST, PROGRESS_EXPORT,
                                START_EXPORT, InstrumentLevel)
from ...instrument.offsets import OffsetMap
from ...instrument.records import RestartReport, VirtualMemoryReport
from . import saved
from .cache import CompileCache
from .engine import engine_for
from .text import WASM_MAGIC, binary_of
from ..errors import ConfigError, ModuleError
from ..hostapi import ValType
from ..settings import DEFAULT_SLICE, EngineSettings

if TYPE_CHECKING:  # pragma: no cover
    from ...instrument import LoadPass, Site
    from ...instrument.locator import Locator
    from ...instrument.module import FuncSig, ModuleInfo

__all__ = ["FuncImport", "GuestSource", "MemoryImport", "Program", "load_program", "read_guest_bytes"]

GuestSource = Union[str, os.PathLike, bytes, "Program"]

CORE_VERSION = b"\x01\x00\x00\x00"
THREAD_SPAWN = ("wasi", "thread-spawn")
THREAD_START = "wasi_thread_start"
WASI_P1 = "wasi_snapshot_preview1"
INSTRUMENT_MODULE = "wasmconc"

_VALTYPES = {"i32": ValType.I32, "i64": ValType.I64, "f32": ValType.F32, "f64": ValType.F64}
# Value types by their binary encoding. Signatures are read from the bytes, never from wasmtime-py's
# ValType: str() or == of a v128 or GC-typed ValType aborts the process.
_RAW_VALTYPES = {b"\x7f": ValType.I32, b"\x7e": ValType.I64, b"\x7d": ValType.F32, b"\x7c": ValType.F64}
_RAW_NAMES = {b"\x7b": "v128", b"\x70": "funcref", b"\x6f": "externref", b"\x6e": "anyref",
              b"\x69": "exnref", b"\x74": "nullexnref"}


@dataclass(frozen=True)
class MemoryImport:
    module: str
    name: str
    minimum: int
    maximum: int | None
    shared: bool
    is64: bool


@dataclass(frozen=True)
class FuncImport:
    module: str
    name: str
    params: tuple[ValType, ...]
    results: tuple[ValType, ...]

    def signature(self) -> str:
        p = " ".join(t.value for t in self.params)
        r = " ".join(t.value for t in self.results)
        return f"({p}) -> ({r})"


@dataclass
class Program:
    """A compiled guest, ready to be executed any number of times."""

    name: str
    wasm: bytes  # as compiled (instrumented)
    original_size: int
    module: wasmtime.Module
    engine_settings: EngineSettings
    level: InstrumentLevel
    func_imports: list[FuncImport]  # one per (module, name), however often the module imports it
    memory_import: MemoryImport | None
    other_imports: list[tuple[str, str, str]]  # (module, name, kind) of tables/globals/tags
    exports: dict[str, str]  # name -> kind
    exported_memory: MemoryImport | None  # the type of the exported "memory", if any
    # Signatures of exported functions whose types are all numeric (name -> (params, results)).
    export_sigs: dict[str, tuple[tuple[ValType, ...], tuple[ValType, ...]]] = field(default_factory=dict)
    sites: list[Site] = field(default_factory=list)
    func_names: dict[int, str] = field(default_factory=dict)
    # Host linkers built for this program, by "uses wasmtime's own WASI" (execution.program_linker).
    linkers: dict[bool, wasmtime.Linker] = field(default_factory=dict, repr=False, compare=False)
    # The bytes as read (before instrumentation), to load them again differently.
    source_wasm: bytes = field(default=b"", repr=False, compare=False)
    # Extra load-time passes (see `load_program(passes=...)`): their keys, and what each returned.
    passes: tuple[str, ...] = ()
    # Hot sites (see `load_program`): byte offsets of the visible accesses that charge HOT_ACCESS_COST.
    hot_sites: frozenset[int] = frozenset()
    # Loaded with step footprints (instrument/footprints.py): the dfs policy's loads at the shared level.
    footprints: bool = False
    pass_results: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # Offsets of `wasm` back to the file's (instrument/offsets.py), and the code's shift between the
    # file and the rewriter's input (a defined memory moved into the imports), where sites are counted.
    offsets: OffsetMap = field(default_factory=OffsetMap, repr=False, compare=False)
    input_shift: int = 0
    # What resetting an instance for another run needs (instrument/restart.py); None: not instrumented
    # for it (components, os mode), so every execution creates its instances.
    restart: RestartReport | None = field(default=None, repr=False, compare=False)
    # Loaded for the reset path with a virtual memory size (instrument/vmem.py), and what that pass did
    # (`vmem.applied`: the size the guest sees is the execution's virtual one).
    virtual_memory: bool = False
    vmem: VirtualMemoryReport | None = field(default=None, repr=False, compare=False)
    _locator: Locator | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def locator(self) -> Locator:
        """Every position a report prints goes through this (instrument/locator.py): the offsets of
        the file the user built, function names, `file.c:LINE` from its DWARF."""
        if self._locator is None:
            from ...instrument.locator import Locator  # noqa: PLC0415 (reports only: see the imports)

            self._locator = Locator(self.offsets, self.source_wasm or self.wasm, self.input_shift)
        return self._locator

    def frame_text(self, func: str | None, func_index: int, offset: int) -> str:
        """A wasm frame wasmtime reported (rewritten module) as reports print it: `f (@0xd8) f.c:12`."""
        return self.locator.frame(func, func_index, offset)

    def position_text(self, offset: int) -> str:
        """Any byte offset of the module wasmtime runs (where a thread was switched out, stopped, ...)
        as reports print it, `f (@0xd8) f.c:12`: the function found from the offset, the offset
        that of the user's file. For an offset a load-time pass recorded (`Site.offset`, a race or
        lock site), use `self.locator.site(func, func_index, offset)`."""
        return self.locator.position(offset)

    @property
    def engine(self) -> wasmtime.Engine:
        return engine_for(self.engine_settings)

    @property
    def threaded(self) -> bool:
        return any((f.module, f.name) == THREAD_SPAWN for f in self.func_imports)

    @property
    def uses_wasi(self) -> bool:
        return any(f.module == WASI_P1 for f in self.func_imports)

    def func_import(self, module: str, name: str) -> FuncImport | None:
        for f in self.func_imports:
            if f.module == module and f.name == name:
                return f
        return None


def read_guest_bytes(source: str | os.PathLike | bytes) -> tuple[str, bytes]:
    """Read a guest from a path or take its bytes, as a binary (text is converted); errors name the file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return "<bytes>", binary_of("<bytes>", data) if data else data
    if not isinstance(source, (str, os.PathLike)):
        raise ModuleError(f"a guest is a path to a .wasm (or .wat) file, its bytes or a compiled Program, "
                          f"not {type(source).__name__}")
    try:
        text = os.fspath(source)
    except TypeError as exc:
        raise ModuleError(f"a guest path must be a str or bytes path ({exc})") from None
    if not text:
        raise ModuleError("empty guest path (expected a .wasm file)")
    path = Path(os.fsdecode(text))
    try:
        data = path.read_bytes()
    except ValueError as exc:  # an embedded NUL byte
        raise ModuleError(f"{str(path)!r}: not a usable file name ({exc})") from None
    except FileNotFoundError:
        raise ModuleError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ModuleError(f"{path}: is a directory, not a WebAssembly module") from None
    except OSError as exc:
        raise ModuleError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return str(path), binary_of(str(path), data) if data else data


def _check_header(name: str, data: bytes) -> None:
    if not data:
        raise ModuleError(f"{name}: empty file, not a WebAssembly module")
    if data[:4] != WASM_MAGIC:
        raise ModuleError(f"{name}: not a WebAssembly module (no \\0asm header)")
    if len(data) < 8:
        raise ModuleError(f"{name}: truncated WebAssembly module ({len(data)} bytes)")
    if data[4:8] != CORE_VERSION:
        if data[6:8] == b"\x01\x00":
            raise ModuleError(
                f"{name}: is a WebAssembly component, not a core module; this command runs core "
                "wasm modules (wasm32-wasip1 / wasm32-wasip1-threads)"
            )
        raise ModuleError(f"{name}: unsupported WebAssembly binary version {data[4:8].hex()}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _raw_valtypes(types: tuple[bytes, ...]) -> tuple[ValType, ...] | str:
    """Our value types of raw encodings, or the name of the first one that is not numeric."""
    out = []
    for t in types:
        v = _RAW_VALTYPES.get(t)
        if v is None:
            return _RAW_NAMES.get(t, f"a reference type (0x{t.hex()})")
        out.append(v)
    return tuple(out)


def _raw_export_funcs(info: ModuleInfo) -> dict[str, FuncSig | None]:
    from ...instrument.module import FUNC  # noqa: PLC0415 (a first load: see the imports)
    from ...instrument.reader import Reader  # noqa: PLC0415

    """Exported functions of a parsed (valid) module: name -> signature (None: not a plain function type)."""
    sec = info.section(7)
    out: dict[str, FuncSig | None] = {}
    if sec is None:
        return out
    r = Reader(info.data, sec.payload, sec.end)
    for _ in range(r.u32()):
        name = r.name()
        kind = r.u8()
        index = r.u32()
        if kind == FUNC and index < len(info.func_types):
            out[name] = info.func_sigs.get(info.func_types[index])
    return out


def _signature_text(sig: FuncSig) -> str:
    def names(ts: tuple[bytes, ...]) -> str:
        return " ".join(_RAW_VALTYPES[t].value if t in _RAW_VALTYPES else _RAW_NAMES.get(t, "ref")
                        for t in ts)
    return f"({names(sig.params)}) -> ({names(sig.results)})"



def _memory_desc(module: str, name: str, ty: wasmtime.MemoryType) -> MemoryImport:
    return MemoryImport(module, name, ty.limits.min, ty.limits.max, ty.is_shared, ty.is_64)


def load_program(
    source: GuestSource,
    engine_settings: EngineSettings,
    *,
    level: InstrumentLevel | str = InstrumentLevel.ATOMICS,
    cache: CompileCache | None = None,
    passes: Sequence[tuple[str, LoadPass]] = (),
    hot_sites: frozenset[int] = frozenset(),
    footprints: bool = False,
    virtual_memory: bool = False,
    passes_cache_key: str | None = None,
) -> Program:
    """Read, check, instrument and compile a guest.

    `passes`: extra instrumentation passes as (key, pass), run after the
    atomics pass; a Program loaded with other passes is loaded again.
    `passes_cache_key`: names everything the passes' rewrites and results depend on besides the
    bytes (their configuration and code; extensions.passes_cache_key): given, a load with passes is
    kept like a plain one, in this process and on disk (the results pickled); None: loaded anew.
    `hot_sites`: at the shared level, byte offsets (in the guest as given) of
    plain accesses that charge the preemption counter HOT_ACCESS_COST instead
    of ACCESS_COST: accesses found racy, where a policy should preempt.
    `footprints`: each scheduling point tells what the step after it touches (instrument/footprints.py,
    for the dfs policy's sleep sets); only at the shared level with the counter and no hot sites (elsewhere
    a step may touch what no point announced), ignored otherwise. A load without is byte for byte what it was.
    `virtual_memory`: the reset path's load (instrument/vmem.py): the shared memory's size the guest sees
    is the execution's own, so a memory it grew can be reset; with the counter only, ignored otherwise.
    """
    keys = tuple(k for k, _ in passes)
    hot_sites = frozenset(hot_sites)
    wanted_level = level.value if isinstance(level, InstrumentLevel) else level
    footprints = (footprints and wanted_level == InstrumentLevel.SHARED.value and engine_settings.counter
                  and not hot_sites)
    virtual_memory = virtual_memory and engine_settings.counter
    known_name = None
    if isinstance(source, Program):
        if (source.engine_settings != engine_settings or source.passes != keys
                or source.level.value != wanted_level or source.hot_sites != hot_sites
                or source.footprints != footprints or source.virtual_memory != virtual_memory):
            # Compiled for another mode or with other passes: load the same bytes again.
            known_name = source.name
            source = source.source_wasm or source.wasm
        else:
            return source
    if isinstance(level, str):
        try:
            level = InstrumentLevel(level)
        except ValueError:
            valid = ", ".join(lv.value for lv in InstrumentLevel)
            raise ConfigError(f"invalid instrumentation level {level!r} (valid: {valid})") from None
    name, data = read_guest_bytes(source)
    name = known_name or name
    _check_header(name, data)
    memo_key = None
    passes_named = (keys, passes_cache_key) if passes else None
    if not passes or passes_cache_key is not None:
        # Passes of extensions may carry state of their own: a load with passes is shared only when
        # they name everything their output depends on (`passes_cache_key`).
        memo_key = (name, hashlib.sha256(data).digest(), engine_settings, level, hot_sites, footprints,
                    virtual_memory, passes_named)
        known = _LOADED.get(memo_key)
        if known is not None:
            _LOADED.move_to_end(memo_key)
            return known
    saved_key = None
    if memo_key is not None and cache is not None:
        saved_key = saved.entry_key(memo_key[1], engine_settings, level, hot_sites, footprints, virtual_memory,
                                    passes=(*keys, passes_cache_key) if passes_cache_key and passes else ())
        fields = saved.read(cache, saved_key) if saved_key is not None else None
        if fields is not None:
            # An earlier process loaded these bytes this way: no checking, rewriting or parsing again.
            prog = Program(name=name, module=cache.compile(engine_for(engine_settings), engine_settings,
                                                           fields["wasm"]),
                           engine_settings=engine_settings, source_wasm=data, **fields)
            _remember(memo_key, prog)
            return prog
    from ...instrument import InstrumentError, instrument  # noqa: PLC0415 (a first load: see the imports)
    from ...instrument.memory_import import share_defined_memory  # noqa: PLC0415
    from ...instrument.module import FUNC, parse_module  # noqa: PLC0415

    try:
        extra = [p for _, p in passes] + _engine_passes(engine_settings, level, hot_sites, footprints,
                                                        virtual_memory)
        shared = share_defined_memory(data)
        inst = instrument(shared, level, extra, footprints=footprints)
        input_shift = 0 if shared is data else _code_start(data) - _code_start(shared)
    except InstrumentError as exc:
        raise ModuleError(f"{name}: {exc}") from None
    engine = engine_for(engine_settings)
    try:
        if cache is not None:
            module = cache.compile(engine, engine_settings, inst.wasm)
        else:
            module = wasmtime.Module(engine, inst.wasm)
    except wasmtime.WasmtimeError as exc:
        msg = str(exc)
        if "shared" in msg and not engine_settings.threads:
            raise ModuleError(f"{name}: needs wasm threads (shared memory), "
                              "which this configuration disables") from None
        raise ModuleError(f"{name}: invalid WebAssembly module: {_describe_compile_error(msg)}") from None

    try:
        info = parse_module(inst.wasm)
    except InstrumentError as exc:
        raise ModuleError(f"{name}: {exc}") from None
    func_imports: list[FuncImport] = []
    seen: dict[tuple[str, str], FuncImport] = {}
    for raw in info.imports:
        if raw.kind != FUNC:
            continue
        sig = info.func_sigs.get(raw.type_index) if raw.type_index is not None else None
        if sig is None:
            raise ModuleError(f"{name}: imports {raw.module}.{raw.name} with a type that is not a plain "
                              "function type; only numeric (i32, i64, f32, f64) host functions are supported")
        params, results = _raw_valtypes(sig.params), _raw_valtypes(sig.results)
        if isinstance(params, str) or isinstance(results, str):
            bad = params if isinstance(params, str) else results
            raise ModuleError(f"{name}: imports {raw.module}.{raw.name} as {_signature_text(sig)}; host "
                              f"functions take and return only i32, i64, f32 and f64, not {bad}")
        func = FuncImport(raw.module, raw.name, params, results)
        earlier = seen.get((raw.module, raw.name))
        if earlier is not None:
            # A module may import one function under several indices (AssemblyScript's output
            # does): each (module, name) has one host definition, which every such import binds.
            if earlier != func:
                raise ModuleError(f"{name}: imports {raw.module}.{raw.name} twice with different "
                                  f"signatures ({earlier.signature()} and {func.signature()}); "
                                  "one host function cannot have both")
            continue
        seen[(raw.module, raw.name)] = func
        func_imports.append(func)
    export_funcs = _raw_export_funcs(info)
    memory_import: MemoryImport | None = None
    others: list[tuple[str, str, str]] = []
    for imp in module.imports:
        ty = imp.type
        mod_name, item = imp.module, imp.name or ""
        if isinstance(ty, wasmtime.FuncType):
            continue  # read from the bytes above
        elif isinstance(ty, wasmtime.MemoryType):
            if memory_import is not None:
                first = f"{memory_import.module}.{memory_import.name}"
                raise ModuleError(f"{name}: imports more than one memory ({first} and {mod_name}.{item}); "
                                  "only one is supported")
            memory_import = _memory_desc(mod_name, item, ty)
        else:
            kind = type(ty).__name__.replace("Type", "").lower()
            others.append((mod_name, item, kind))
    exports: dict[str, str] = {}
    exported_memory = None
    for exp in module.exports:
        ty = exp.type
        kind = type(ty).__name__.replace("Type", "").lower()
        if exp.name in (BUDGET_EXPORT, START_EXPORT, PROGRESS_EXPORT) or exp.name.startswith(GLOBAL_EXPORT_PREFIX):
            continue  # the runtime's own (instrument/preempt.py, restart.py), not the guest's
        exports[exp.name] = kind
        if exp.name == "memory" and isinstance(ty, wasmtime.MemoryType):
            exported_memory = _memory_desc("", "memory", ty)

    prog = Program(
        name=name,
        wasm=inst.wasm,
        original_size=len(data),
        module=module,
        engine_settings=engine_settings,
        level=level,
        func_imports=func_imports,
        memory_import=memory_import,
        other_imports=others,
        exports=exports,
        exported_memory=exported_memory,
        export_sigs=_numeric_sigs(export_funcs),
        sites=list(inst.sites),
        func_names=dict(inst.func_names),
        source_wasm=data,
        passes=keys,
        hot_sites=hot_sites,
        footprints=footprints,
        pass_results=dict(zip(keys, inst.pass_results)),
        offsets=inst.offsets.shifted(input_shift),
        input_shift=input_shift,
        restart=next((r for r in inst.pass_results if isinstance(r, RestartReport)), None),
        virtual_memory=virtual_memory,
        vmem=next((r for r in inst.pass_results if isinstance(r, VirtualMemoryReport)), None),
    )
    _check_shape(prog, export_funcs)
    if memo_key is not None:
        _remember(memo_key, prog)
    if saved_key is not None and cache is not None:
        saved.write(cache, saved_key, {k: getattr(prog, k) for k in saved.FIELDS})
    return prog


_MemoKey = tuple[str, bytes, EngineSettings, InstrumentLevel, frozenset[int], bool, bool,
                 tuple[tuple[str, ...], str | None] | None]


def _remember(key: _MemoKey, prog: Program) -> None:
    _LOADED[key] = prog
    while len(_LOADED) > _LOADED_MAX:
        _LOADED.popitem(last=False)


# Programs loaded in this process, most recently used last: a test suite loads
# the same guest in test after test, and instrumenting a libc-sized module
# takes a good fraction of a second. A Program is only read after loading
# (every execution makes its own stores and instances), so sharing it is safe.
_LOADED: OrderedDict[_MemoKey, Program] = OrderedDict()
_LOADED_MAX = 64


def _code_start(wasm: bytes) -> int:
    """Where the code section's payload begins (0 without one)."""
    from ...instrument.module import parse_module  # noqa: PLC0415 (a first load: see the imports)

    sec = parse_module(wasm).section(10)
    return sec.payload if sec is not None else 0


def _engine_passes(engine_settings: EngineSettings, level: InstrumentLevel,
                   hot_sites: frozenset[int] = frozenset(), footprints: bool = False,
                   virtual_memory: bool = False) -> list[LoadPass]:
    """Passes the engine configuration itself needs (run after the user's)."""
    from ...instrument.preempt import PreemptCounterPass  # noqa: PLC0415 (a first load: see the imports)
    from ...instrument.restart import RestartPass  # noqa: PLC0415

    if engine_settings.counter:
        shared = level is InstrumentLevel.SHARED
        passes: list[LoadPass] = [
            PreemptCounterPass(DEFAULT_SLICE, access_cost=ACCESS_COST if shared else None,
                               host_call_points=level is not InstrumentLevel.WAITS,
                               hot_sites=hot_sites if shared else frozenset(), hot_cost=HOT_ACCESS_COST,
                               footprints=footprints and shared)]
        if virtual_memory:
            # after the counter (its charges and points are those of the original code), before the restart
            # pass (which exports the size cache it adds)
            from ...instrument.vmem import VirtualMemoryPass  # noqa: PLC0415 (the reset path's loads only)

            passes.append(VirtualMemoryPass())
        passes.append(RestartPass())  # last: it exports the globals the passes before it added
        return passes
    return []


def _numeric_sigs(funcs: dict[str, FuncSig | None]) -> dict[str, tuple[tuple[ValType, ...], tuple[ValType, ...]]]:
    out = {}
    for export, sig in funcs.items():
        if sig is None:
            continue
        params, results = _raw_valtypes(sig.params), _raw_valtypes(sig.results)
        if not isinstance(params, str) and not isinstance(results, str):
            out[export] = (params, results)
    return out


def _describe_compile_error(msg: str) -> str:
    lines = [ln.strip() for ln in msg.strip().splitlines() if ln.strip()]
    # wasmtime puts the useful cause last ("Caused by: ...").
    causes = [ln for ln in lines if not ln.lower().startswith(("caused by", "stack backtrace"))]
    return "; ".join(causes[:3]) if causes else msg


def _check_export_sig(name: str, export: str, sig: FuncSig | None, params: tuple[bytes, ...],
                      results: tuple[bytes, ...]) -> None:
    from ...instrument.module import FuncSig  # noqa: PLC0415 (a first load: see the imports)

    want = FuncSig(params, results)
    if sig != want:
        got = _signature_text(sig) if sig is not None else "a function of a non-plain type"
        raise ModuleError(f"{name}: exports {export} as {got}, but it must be {_signature_text(want)}")


def _check_shape(prog: Program, export_funcs: dict[str, FuncSig | None] | None = None) -> None:
    name = prog.name
    funcs = export_funcs if export_funcs is not None else {}
    if prog.threaded:
        if prog.exports.get(THREAD_START) != "func":
            raise ModuleError(f"{name}: imports wasi.thread-spawn but does not export a {THREAD_START} function")
        if THREAD_START in funcs:
            i32 = b"\x7f"
            _check_export_sig(name, THREAD_START, funcs[THREAD_START], (i32, i32), ())
        mem = prog.memory_import or prog.exported_memory
        if mem is None:
            raise ModuleError(f"{name}: a threaded module must import or export its (shared) memory")
        if not mem.shared:
            raise ModuleError(f"{name}: imports wasi.thread-spawn but its memory is not shared")
    if prog.memory_import is not None and prog.memory_import.shared and not prog.engine_settings.threads:
        raise ModuleError(f"{name}: needs wasm threads (shared memory), which this configuration disables")
    if prog.uses_wasi and prog.memory_import is None and prog.exported_memory is None:
        raise ModuleError(f"{name}: uses WASI but exports no memory named 'memory'")
    if prog.exports.get("_start") != "func":
        raise ModuleError(f"{name}: exports no _start function (not a WASI command module)")
    if "_start" in funcs:
        _check_export_sig(name, "_start", funcs["_start"], (), ())
