"""A thread-affine store refuses use from another OS thread, with a clear error."""

from __future__ import annotations

import threading

import pytest
import wasmtime

from pytest_wasmconc.runtime import StoreThreadError, ThreadAffineStore


def _use_from_other_thread(store: ThreadAffineStore) -> BaseException | None:
    caught: list[BaseException] = []

    def body() -> None:
        try:
            store.set_fuel(10)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            caught.append(exc)

    t = threading.Thread(target=body, name="intruder")
    t.start()
    t.join()
    return caught[0] if caught else None


def _engine() -> wasmtime.Engine:
    cfg = wasmtime.Config()
    cfg.consume_fuel = True
    return wasmtime.Engine(cfg)


def test_owner_thread_can_use_the_store() -> None:
    store = ThreadAffineStore(_engine())
    store.set_fuel(5)
    assert store.get_fuel() == 5


def test_use_from_another_thread_raises_naming_both_threads() -> None:
    store = ThreadAffineStore(_engine())
    err = _use_from_other_thread(store)
    assert isinstance(err, StoreThreadError)
    assert "MainThread" in str(err) and "intruder" in str(err)


def test_a_wasm_call_from_another_thread_is_refused_before_reaching_wasmtime() -> None:
    engine = _engine()
    store = ThreadAffineStore(engine)
    store.set_fuel(1000)
    module = wasmtime.Module(engine, '(module (func (export "f") (result i32) i32.const 7))')
    func = wasmtime.Instance(store, module, []).exports(store)["f"]
    assert func(store) == 7
    caught: list[BaseException] = []
    t = threading.Thread(target=lambda: caught.append(pytest.raises(StoreThreadError, func, store).value))
    t.start()
    t.join()
    assert caught


def test_ownership_can_be_handed_over_explicitly() -> None:
    store = ThreadAffineStore(_engine())
    done: list[int] = []

    def body() -> None:
        store.transfer_to_current_thread()
        store.set_fuel(3)
        done.append(store.get_fuel())

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert done == [3]
    with pytest.raises(StoreThreadError):
        store.get_fuel()
