"""The lock pass: report lock acquisitions and releases of unmodified guests.

Lock functions are found by name in the module's name section, from a table
of `LockFunction` entries (name pattern, acquire or release, which argument
identifies the lock, how a try/timed lock reports success). Every direct
call of one of them is rewritten so that the host sees it:

    blocking acquire:  lock_event(id, 0, BEFORE site)  ; call F ; lock_event(id, result, AFTER site)
    try acquire:                                         call F ; lock_event(id, result, AFTER site)
    release:           lock_event(id, 0, RELEASE site) ; call F

`lock_event(id: i32, result: i32, site: i32) -> ()` is an import of module
"wasmconc" (`lock_event64` takes an i64 id, for memory64 guests); `site`
indexes `LockInstrumentation.sites`, which says what happened and where
(calling function, byte offset of the call in the original module). The
call sites are rewritten rather than the lock functions themselves because
a call site knows who took the lock, and because calls made *inside* lock
functions (musl's `__pthread_mutex_lock` calling `__pthread_mutex_timedlock`,
`timedlock` trying `trylock` first) are implementation details that must
not count twice: they are left alone.

Guests may also report locks of their own through the imports
`wasmconc.lock_acquired(id)`, `wasmconc.lock_try_acquired(id)` and
`wasmconc.lock_released(id)` (i32 or i64 id); their calls get a site too.

Not seen: calls through function pointers (`call_indirect`, `call_ref`),
and lock functions the compiler inlined (Rust's release builds inline the
uncontended path of std's futex mutex; a family is only instrumented when
both its acquire and its release functions exist, so a half-visible lock
never looks held forever).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .abi import HOST_MODULE, USER_ACQUIRED, USER_IMPORTS, USER_RELEASED, USER_TRY_ACQUIRED
from .body import BodyEditor
from .decode import Instr
from .module import FUNC, FuncSig
from .opcodes import CALL, RETURN, RETURN_CALL
from .rewriter import ModuleRewriter
from .snippet import FuncRef, Snippet

__all__ = [
    "DEFAULT_LOCK_TABLE",
    "LOCK_EVENT",
    "LOCK_EVENT64",
    "USER_ACQUIRED",
    "USER_IMPORTS",
    "USER_RELEASED",
    "USER_TRY_ACQUIRED",
    "LockFunction",
    "LockInstrumentation",
    "LockPass",
    "LockSite",
    "table_fingerprint",
]

LOCK_EVENT = "lock_event"
LOCK_EVENT64 = "lock_event64"

ACQUIRE, RELEASE = "acquire", "release"
# Site kinds (what the host is told at a site).
BEFORE = "before"  # a blocking acquire is about to start
AFTER = "after"  # an acquire function returned (its result says whether it acquired)
RELEASING = "release"  # a release function is about to run
# USER_ACQUIRED, USER_TRY_ACQUIRED, USER_RELEASED: the guest's own reports (abi.py, USER_IMPORTS).

_I32, _I64 = b"\x7f", b"\x7e"
_NUMERIC = (b"\x7f", b"\x7e", b"\x7d", b"\x7c")


@dataclass(frozen=True)
class LockFunction:
    """One row of the lock table.

    `pattern` must match a whole name-section name (a Python regex).
    `arg` is the parameter that identifies the lock (its address).
    `success`: how an acquire reports that it acquired -- "zero" (pthread: 0
    = acquired, else an error number), "nonzero" (a bool: true = acquired),
    or None (it always acquires: void lock functions).
    `blocking`: False for try-locks, which never wait and so never close a
    deadlock cycle (taking them adds no lock-order edge to them).
    `family`: functions that lock the same kind of lock; a family is only
    instrumented when both an acquire and a release function were found.
    `shared`: a reader (shared) acquisition of a reader/writer lock.
    """

    pattern: str
    action: str  # ACQUIRE or RELEASE
    arg: int = 0
    success: str | None = None
    blocking: bool = True
    family: str = ""
    shared: bool = False

    def __post_init__(self) -> None:
        if self.action not in (ACQUIRE, RELEASE):
            raise ValueError(f"lock table: action must be {ACQUIRE!r} or {RELEASE!r}, got {self.action!r}")
        if self.success not in (None, "zero", "nonzero"):
            raise ValueError(f"lock table: success must be 'zero', 'nonzero' or None, got {self.success!r}")
        if self.arg < 0:
            raise ValueError(f"lock table: arg must be >= 0, got {self.arg}")
        re.compile(self.pattern)

    def succeeded(self, result: int) -> bool:
        if self.success == "zero":
            return result & 0xFFFF_FFFF == 0
        if self.success == "nonzero":
            return result & 0xFFFF_FFFF != 0
        return True


def _c(name: str, action: str, family: str, *, success: str | None = "zero", blocking: bool = True,
       shared: bool = False, arg: int = 0) -> LockFunction:
    """A C function, under its public name or musl's internal `__` name."""
    return LockFunction(rf"(?:__)?{name}", action, arg, success if action == ACQUIRE else None, blocking,
                        family, shared)


def _rust(type_path: str, method: str, action: str, family: str, *, success: str | None = None,
          blocking: bool = True, shared: bool = False) -> list[LockFunction]:
    """A method of a type under Rust's `std::sys`, demangled (legacy or v0) or legacy-mangled."""
    segs = type_path.split("::")
    demangled = (rf"<?std::sys::(?:\w+::)*?{'::'.join(segs)}>?::{method}(?:::h[0-9a-f]{{16}})?")
    mangled = (r"_ZN3std3sys(?:\d+\w+?)*?" + "".join(f"{len(s)}{s}" for s in segs)
               + f"{len(method)}{method}" + r"17h[0-9a-f]{16}E")
    return [LockFunction(p, action, 0, success, blocking, family, shared) for p in (demangled, mangled)]


def _zig(path: str, action: str, family: str, *, success: str | None = None, blocking: bool = True,
         shared: bool = False) -> LockFunction:
    return LockFunction(rf"(?:std\.)?{re.escape(path)}", action, 0, success, blocking, family, shared)


DEFAULT_LOCK_TABLE: tuple[LockFunction, ...] = (
    # wasi-libc (musl: `__pthread_*` names, the public ones are aliases) and the project's pthread layer
    _c("pthread_mutex_lock", ACQUIRE, "pthread_mutex"),
    _c("pthread_mutex_timedlock", ACQUIRE, "pthread_mutex"),
    _c("pthread_mutex_trylock", ACQUIRE, "pthread_mutex", blocking=False),
    _c("pthread_mutex_unlock", RELEASE, "pthread_mutex"),
    _c("pthread_rwlock_rdlock", ACQUIRE, "pthread_rwlock", shared=True),
    _c("pthread_rwlock_timedrdlock", ACQUIRE, "pthread_rwlock", shared=True),
    _c("pthread_rwlock_tryrdlock", ACQUIRE, "pthread_rwlock", blocking=False, shared=True),
    _c("pthread_rwlock_wrlock", ACQUIRE, "pthread_rwlock"),
    _c("pthread_rwlock_timedwrlock", ACQUIRE, "pthread_rwlock"),
    _c("pthread_rwlock_trywrlock", ACQUIRE, "pthread_rwlock", blocking=False),
    _c("pthread_rwlock_unlock", RELEASE, "pthread_rwlock"),
    _c("pthread_spin_lock", ACQUIRE, "pthread_spin"),
    _c("pthread_spin_trylock", ACQUIRE, "pthread_spin", blocking=False),
    _c("pthread_spin_unlock", RELEASE, "pthread_spin"),
    # C11 threads (musl): thrd_success == 0
    _c("mtx_lock", ACQUIRE, "c11_mtx"),
    _c("mtx_timedlock", ACQUIRE, "c11_mtx"),
    _c("mtx_trylock", ACQUIRE, "c11_mtx", blocking=False),
    _c("mtx_unlock", RELEASE, "c11_mtx"),
    # Rust std's futex mutex and rwlock (wasm32-wasip1-threads); `lock`/`unlock` are
    # #[inline]: out of line in debug builds, inlined in release builds.
    *_rust("futex::Mutex", "lock", ACQUIRE, "rust_futex_mutex"),
    *_rust("futex::Mutex", "try_lock", ACQUIRE, "rust_futex_mutex", success="nonzero", blocking=False),
    *_rust("futex::Mutex", "unlock", RELEASE, "rust_futex_mutex"),
    *_rust("futex_mutex::Mutex", "lock", ACQUIRE, "rust_futex_mutex"),
    *_rust("futex_mutex::Mutex", "try_lock", ACQUIRE, "rust_futex_mutex", success="nonzero", blocking=False),
    *_rust("futex_mutex::Mutex", "unlock", RELEASE, "rust_futex_mutex"),
    *_rust("futex::RwLock", "read", ACQUIRE, "rust_futex_rwlock", shared=True),
    *_rust("futex::RwLock", "try_read", ACQUIRE, "rust_futex_rwlock", success="nonzero", blocking=False,
           shared=True),
    *_rust("futex::RwLock", "read_unlock", RELEASE, "rust_futex_rwlock"),
    *_rust("futex::RwLock", "write", ACQUIRE, "rust_futex_rwlock"),
    *_rust("futex::RwLock", "try_write", ACQUIRE, "rust_futex_rwlock", success="nonzero", blocking=False),
    *_rust("futex::RwLock", "write_unlock", RELEASE, "rust_futex_rwlock"),
    *_rust("futex_rwlock::RwLock", "read", ACQUIRE, "rust_futex_rwlock", shared=True),
    *_rust("futex_rwlock::RwLock", "read_unlock", RELEASE, "rust_futex_rwlock"),
    *_rust("futex_rwlock::RwLock", "write", ACQUIRE, "rust_futex_rwlock"),
    *_rust("futex_rwlock::RwLock", "write_unlock", RELEASE, "rust_futex_rwlock"),
    # Zig: std.Thread.Mutex / RwLock (to 0.15), std.Io.Mutex (0.16+)
    _zig("Thread.Mutex.lock", ACQUIRE, "zig_thread_mutex"),
    _zig("Thread.Mutex.tryLock", ACQUIRE, "zig_thread_mutex", success="nonzero", blocking=False),
    _zig("Thread.Mutex.unlock", RELEASE, "zig_thread_mutex"),
    _zig("Thread.RwLock.lock", ACQUIRE, "zig_thread_rwlock"),
    _zig("Thread.RwLock.tryLock", ACQUIRE, "zig_thread_rwlock", success="nonzero", blocking=False),
    _zig("Thread.RwLock.unlock", RELEASE, "zig_thread_rwlock"),
    _zig("Thread.RwLock.lockShared", ACQUIRE, "zig_thread_rwlock", shared=True),
    _zig("Thread.RwLock.tryLockShared", ACQUIRE, "zig_thread_rwlock", success="nonzero", blocking=False,
         shared=True),
    _zig("Thread.RwLock.unlockShared", RELEASE, "zig_thread_rwlock"),
    _zig("Io.Mutex.lockUncancelable", ACQUIRE, "zig_io_mutex"),
    _zig("Io.Mutex.lock", ACQUIRE, "zig_io_mutex", success="zero"),  # error union: 0 = no error
    _zig("Io.Mutex.tryLock", ACQUIRE, "zig_io_mutex", success="nonzero", blocking=False),
    _zig("Io.Mutex.unlock", RELEASE, "zig_io_mutex"),
)


def table_fingerprint(table: Sequence[LockFunction]) -> str:
    """A short digest of a table (programs instrumented with different tables differ)."""
    h = hashlib.sha256(repr(tuple(table)).encode())
    return h.hexdigest()[:10]


@dataclass(frozen=True)
class LockSite:
    """One rewritten call: what the host is told there, and where it is.

    `caller_index` is the calling function's index in the ORIGINAL module,
    `offset` the byte offset of the call instruction in the original module.
    """

    index: int
    kind: str  # BEFORE, AFTER, RELEASING, USER_ACQUIRED, USER_TRY_ACQUIRED, USER_RELEASED
    callee: str
    caller_index: int
    caller: str | None
    offset: int
    entry: LockFunction | None = None  # None for the guest's own imports

    @property
    def where(self) -> str:
        """`caller (@0x1f3)`: the one-frame location of the call."""
        return f"{self.caller or f'<func {self.caller_index}>'} (@{self.offset:#x})"

    @property
    def blocking(self) -> bool:
        if self.entry is not None:
            return self.entry.blocking
        return self.kind == USER_ACQUIRED

    @property
    def shared(self) -> bool:
        return self.entry is not None and self.entry.shared


@dataclass
class LockInstrumentation:
    """What the lock pass found and did (kept in `Program.pass_results`)."""

    sites: list[LockSite] = field(default_factory=list)
    functions: dict[int, str] = field(default_factory=dict)  # instrumented lock functions by index
    families: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was found but not instrumented, and why
    has_names: bool = False
    user_imports: list[str] = field(default_factory=list)
    calls: int = 0  # call sites rewritten
    digest: str = ""  # identifies the module (set by whoever runs the pass; locks are per module)

    @property
    def finds_nothing(self) -> bool:
        """No name section and no lock imports: the check could not see any lock."""
        return not self.has_names and not self.user_imports

    def summary(self) -> str:
        if not self.functions and not self.user_imports:
            return "no lock functions found"
        parts = []
        if self.functions:
            parts.append(f"{len(self.functions)} lock function{'s' if len(self.functions) != 1 else ''} "
                         f"({', '.join(sorted(set(self.functions.values())))})")
        if self.user_imports:
            parts.append(f"lock imports {', '.join(self.user_imports)}")
        return f"{' and '.join(parts)}; {self.calls} call site{'s' if self.calls != 1 else ''} instrumented"


class LockPass:
    """Rewrite calls of lock functions (see the module docstring)."""

    def __init__(self, table: Sequence[LockFunction] = DEFAULT_LOCK_TABLE) -> None:
        self.table = tuple(table)
        self._compiled = [(re.compile(e.pattern), e) for e in self.table]

    def match(self, name: str) -> LockFunction | None:
        for rx, entry in self._compiled:
            if rx.fullmatch(name):
                return entry
        return None

    def run(self, rw: ModuleRewriter, names: dict[int, str]) -> LockInstrumentation:
        info = rw.info
        result = LockInstrumentation(has_names=info.custom("name") is not None and bool(names))
        targets: dict[int, tuple[str, LockFunction | None, str | None]] = {}  # index -> (name, entry, user kind)
        lock_functions = self._lock_functions(rw, names, result)
        for index, (fname, fentry) in lock_functions.items():
            targets[index] = (fname, fentry, None)
            result.functions[index] = fname
        for index, iname, kind in self._user_imports(rw):
            targets[index] = (f"{HOST_MODULE}.{iname}", None, kind)
            result.user_imports.append(f"{HOST_MODULE}.{iname}")
        if not targets:
            return result
        # A cheap filter before decoding a body: a call's opcode, then the first byte of the
        # callee's LEB128 index (padded encodings, as wasm-ld writes them, set its top bit).
        needles = {op + bytes((index & 0x7F | flag,)) for index in targets for op in (b"\x10", b"\x12")
                   for flag in (0, 0x80)}
        # Calls inside any function of the table are the lock's own business.
        skip = set(self._all_lock_functions(names))
        for fb in rw.bodies():
            if fb.index in skip:
                continue
            code = rw.body_bytes(fb)
            if not any(n in code for n in needles):
                continue
            ed = rw.editor(fb.index)
            temps = _Temps(ed)
            for i, ins in enumerate(ed.instrs):
                if ins.op not in (CALL, RETURN_CALL):
                    continue
                target = targets.get(ins.imm[0])
                if target is None:
                    continue
                name, entry, user_kind = target
                caller = names.get(fb.index)
                if user_kind is not None:
                    self._rewrite_user_call(rw, ed, i, ins, name, user_kind, fb.index, caller, result)
                else:
                    assert entry is not None
                    self._rewrite_lock_call(rw, ed, temps, i, ins, name, entry, fb.index, caller, result)
            rw.release(fb.index)
        return result

    # -- finding the functions ------------------------------------------------------

    def _all_lock_functions(self, names: dict[int, str]) -> list[int]:
        return [i for i, n in names.items() if self.match(n) is not None]

    def _lock_functions(self, rw: ModuleRewriter, names: dict[int, str],
                        result: LockInstrumentation) -> dict[int, tuple[str, LockFunction]]:
        info = rw.info
        found: dict[int, tuple[str, LockFunction]] = {}
        for index in range(info.num_imported_funcs, info.num_funcs):
            name = names.get(index)
            if name is None:
                continue
            entry = self.match(name)
            if entry is None:
                continue
            sig = info.func_sigs.get(info.func_types[index])
            problem = _signature_problem(sig, entry)
            if problem is not None:
                result.notes.append(f"{name}: not instrumented ({problem})")
                continue
            found[index] = (name, entry)
        by_family: dict[str, set[str]] = {}
        for _, entry in found.values():
            by_family.setdefault(entry.family, set()).add(entry.action)
        complete = {fam for fam, actions in by_family.items() if actions == {ACQUIRE, RELEASE}}
        for fam, actions in sorted(by_family.items()):
            if fam in complete:
                continue
            have = "acquire" if ACQUIRE in actions else "release"
            missing = "release" if have == "acquire" else "acquire"
            fnames = sorted(n for n, e in found.values() if e.family == fam)
            result.notes.append(f"{fam}: found {have} function(s) {', '.join(fnames)} but no {missing} "
                                "function (inlined?): not instrumented")
        result.families = sorted(complete)
        return {i: (n, e) for i, (n, e) in found.items() if e.family in complete}

    def _user_imports(self, rw: ModuleRewriter) -> list[tuple[int, str, str]]:
        out = []
        index = 0
        for imp in rw.info.imports:
            if imp.kind != FUNC:
                continue
            if imp.module == HOST_MODULE and imp.name in USER_IMPORTS and imp.type_index is not None:
                sig = rw.info.func_sigs.get(imp.type_index)
                if sig is not None and len(sig.params) == 1 and sig.params[0] in (_I32, _I64) and not sig.results:
                    out.append((index, imp.name, USER_IMPORTS[imp.name]))
            index += 1
        return out

    # -- rewriting calls ---------------------------------------------------------

    def _hook(self, rw: ModuleRewriter, id_type: bytes) -> FuncRef:
        if id_type == _I64:
            return rw.import_func(HOST_MODULE, LOCK_EVENT64, ["i64", "i32", "i32"], [])
        return rw.import_func(HOST_MODULE, LOCK_EVENT, ["i32", "i32", "i32"], [])

    def _site(self, result: LockInstrumentation, kind: str, callee: str, caller_index: int,
              caller: str | None, offset: int, entry: LockFunction | None) -> int:
        index = len(result.sites)
        result.sites.append(LockSite(index, kind, callee, caller_index, caller, offset, entry))
        return index

    def _rewrite_user_call(self, rw: ModuleRewriter, ed: BodyEditor, i: int, ins: Instr, name: str, kind: str,
                           caller_index: int, caller: str | None, result: LockInstrumentation) -> None:
        sig = rw.info.func_sigs[rw.info.func_types[ins.imm[0]]]
        site = self._site(result, kind, name, caller_index, caller, ins.start, None)
        snip = Snippet().i32_const(0).i32_const(site).call(self._hook(rw, sig.params[0]))
        if ins.op == RETURN_CALL:
            snip.raw(bytes((RETURN,)))
        ed.replace(i, snip)
        result.calls += 1

    def _rewrite_lock_call(self, rw: ModuleRewriter, ed: BodyEditor, temps: _Temps, i: int, ins: Instr, name: str,
                           entry: LockFunction, caller_index: int, caller: str | None,
                           result: LockInstrumentation) -> None:
        callee = ins.imm[0]
        sig = rw.info.func_sigs[rw.info.func_types[callee]]
        params, results = sig.params, sig.results
        hook = self._hook(rw, params[entry.arg])
        snip = Snippet()
        # Keep the arguments: the id is needed after the call too.
        if len(params) == 1:
            id_local = temps.get(params[0], 0)
            snip.local_tee(id_local)
            reload = Snippet()
        else:
            slots = []
            seen: dict[bytes, int] = {}
            for t in params:
                slots.append(temps.get(t, seen.get(t, 0)))
                seen[t] = seen.get(t, 0) + 1
            for local in reversed(slots):
                snip.local_set(local)
            id_local = slots[entry.arg]
            reload = Snippet()
            for local in slots:
                reload.local_get(local)
        if entry.action == RELEASE:
            site = self._site(result, RELEASING, name, caller_index, caller, ins.start, entry)
            snip.local_get(id_local).i32_const(0).i32_const(site).call(hook)
        elif entry.blocking:
            site = self._site(result, BEFORE, name, caller_index, caller, ins.start, entry)
            snip.local_get(id_local).i32_const(0).i32_const(site).call(hook)
        snip.extend(reload)
        snip.call(FuncRef(callee))
        if entry.action == ACQUIRE:
            site = self._site(result, AFTER, name, caller_index, caller, ins.start, entry)
            if results:
                res_local = temps.get(results[0], 0, pool="result")
                snip.local_set(res_local).local_get(id_local)
                if results[0] == _I32:
                    snip.local_get(res_local)
                else:
                    snip.i32_const(0)
                snip.i32_const(site).call(hook).local_get(res_local)
            else:
                snip.local_get(id_local).i32_const(0).i32_const(site).call(hook)
        if ins.op == RETURN_CALL:
            snip.raw(bytes((RETURN,)))
        ed.replace(i, snip)
        result.calls += 1


def _signature_problem(sig: FuncSig | None, entry: LockFunction) -> str | None:
    if sig is None:
        return "not a plain function type"
    if entry.arg >= len(sig.params):
        return f"the table says argument {entry.arg} is the lock, but it takes {len(sig.params)} parameters"
    if sig.params[entry.arg] not in (_I32, _I64):
        return f"argument {entry.arg} is not an i32/i64 address"
    if any(t not in _NUMERIC for t in sig.params):
        return "a parameter is not a number type"
    if len(sig.results) > 1 or any(t not in _NUMERIC for t in sig.results):
        return "it does not return at most one number"
    if entry.success is not None and sig.results != (_I32,):
        return f"the table says its result tells success ({entry.success}), but it does not return an i32"
    return None


class _Temps:
    """Locals added to one function for the rewritten calls, reused by all its call sites."""

    def __init__(self, ed: BodyEditor) -> None:
        self._ed = ed
        self._pools: dict[tuple[str, bytes], list[int]] = {}

    def get(self, valtype: bytes, n: int, pool: str = "arg") -> int:
        ed = self._ed
        locals_ = self._pools.setdefault((pool, valtype), [])
        while len(locals_) <= n:
            locals_.append(ed.add_local(valtype))
        return locals_[n]
