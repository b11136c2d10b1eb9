"""The benchmark kernels compiled from C by clang (guests/wasi/bench_kernels.c).

The same three kernels as kernels.py's hand-written WAT, for the fuel overhead on
code a compiler wrote. Each is reached two ways, running the same function:

- the plain baseline: a sync wasmtime-py call of the export (`bench_fib` ...) on a
  default `wasmtime.Config` (no fuel, no epochs), a fresh Store and instance per
  call; the guest links wasi-libc's start-up code, so the instance needs a WASI
  linker (`Linker.define_wasi` + an empty `WasiConfig`), which the kernel never calls;
- the runtime: the module run as a WASI command, `bench_kernels fib 33`, through
  `Runner.execute` (instantiation, its WASI set-up and one printf included, as for
  the WAT kernels).

Sizes are picked so the plain call takes tens of milliseconds (clang turns half of
fib's recursion into a loop, hence fib(33) rather than fib(30)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import wasmtime
from common import GUESTS

BENCH_KERNELS = GUESTS / "wasi" / "bench_kernels.wasm"


@dataclass(frozen=True)
class CKernel:
    name: str
    export: str
    args: tuple[int, ...]

    @property
    def argv(self) -> list[str]:
        return [self.export.removeprefix("bench_"), *map(str, self.args)]


C_KERNELS = [
    CKernel("C fib(33)", "bench_fib", (33,)),
    CKernel("C dot product", "bench_dot", (100_000, 200)),
    CKernel("C matmul 256", "bench_matmul", (256,)),
]


def plain_call_c(kernel: CKernel) -> Callable[[], None]:
    engine = wasmtime.Engine()  # default Config: no fuel, no epoch interruption
    module = wasmtime.Module.from_file(engine, str(BENCH_KERNELS))
    linker = wasmtime.Linker(engine)
    linker.define_wasi()

    def run() -> None:
        store = wasmtime.Store(engine)
        store.set_wasi(wasmtime.WasiConfig())
        fn = linker.instantiate(store, module).exports(store)[kernel.export]
        assert isinstance(fn, wasmtime.Func)
        fn(store, *kernel.args)

    return run
