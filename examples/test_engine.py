"""Plain wasmtime work on the plugin's engine: wasm_engine and wasm_store."""

from __future__ import annotations

import wasmtime

ADD = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'


def test_a_module_runs_on_the_configured_engine(wasm_engine, wasm_store):
    module = wasmtime.Module(wasm_engine, ADD)
    instance = wasmtime.Instance(wasm_store, module, [])
    assert instance.exports(wasm_store)["add"](wasm_store, 2, 3) == 5
