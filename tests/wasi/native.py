"""Drive wasmtime-py's *native* WASI through a trampoline module.

The trampoline imports every preview1 function and re-exports it unchanged,
with its memory exported too, so a test can poke arguments into memory and
call any WASI function directly from Python. Running the same call script
against this and against our host is how the errno choices are compared.
"""

from __future__ import annotations

import os
from typing import Any

import wasmtime

from pytest_wasmconc.wasi.signatures import MODULE, SIGNATURES


def _wat() -> str:
    imports: list[str] = []
    exports: list[str] = []
    for name, (params, results) in SIGNATURES.items():
        p = " ".join(params.split())
        r = " ".join(results.split())
        ptype = f"(param {p})" if p else ""
        rtype = f"(result {r})" if r else ""
        imports.append(f'(import "{MODULE}" "{name}" (func ${name} {ptype} {rtype}))')
        gets = " ".join(f"local.get {i}" for i in range(len(params.split())))
        exports.append(f'(func (export "{name}") {ptype} {rtype} {gets} call ${name})')
    return (
        "(module\n"
        + "\n".join(imports)
        + '\n(memory (export "memory") 2)\n'
        + "\n".join(exports)
        + ")"
    )


WAT = _wat()
_CACHE: list[tuple[wasmtime.Engine, wasmtime.Module]] = []


def _compiled() -> tuple[wasmtime.Engine, wasmtime.Module]:
    if not _CACHE:
        engine = wasmtime.Engine()
        _CACHE.append((engine, wasmtime.Module(engine, WAT)))
    return _CACHE[0]


class NativeWasi:
    """One instance of the trampoline under wasmtime's own WASI."""

    def __init__(
        self,
        preopens: list[tuple[str, str]] | None = None,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        stdin_path: str | None = None,
    ) -> None:
        self.engine, module = _compiled()
        self.store = wasmtime.Store(self.engine)
        cfg = wasmtime.WasiConfig()
        for host_dir, guest in preopens or []:
            cfg.preopen_dir(os.fspath(host_dir), guest)
        if args is not None:
            cfg.argv = args
        if env is not None:
            cfg.env = list(env.items())
        if stdin_path is not None:
            cfg.stdin_file = stdin_path
        self.store.set_wasi(cfg)
        linker = wasmtime.Linker(self.engine)
        linker.define_wasi()
        self.instance = linker.instantiate(self.store, module)
        exports = self.instance.exports(self.store)
        self.memory: wasmtime.Memory = exports["memory"]  # type: ignore[assignment]
        self._exports = exports

    def call(self, name: str, *args: int) -> Any:
        func = self._exports[name]
        signed = []
        params = SIGNATURES[name][0].split()
        for a, t in zip(args, params):
            bits = 32 if t == "i32" else 64
            a &= (1 << bits) - 1
            if a >= 1 << (bits - 1):
                a -= 1 << bits
            signed.append(a)
        return func(self.store, *signed)  # type: ignore[operator]

    def write(self, ptr: int, data: bytes) -> None:
        self.memory.write(self.store, data, ptr)

    def read(self, ptr: int, length: int) -> bytes:
        return bytes(self.memory.read(self.store, ptr, ptr + length))
