"""HostLock: a lock host functions take for the calling guest thread, per execution, in every mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from pytest_wasmconc.runtime import HostLock, Preempt, Runner, RunSettings, Status, host

C = Path(__file__).resolve().parents[2] / "guests" / "c"

# take; try_take (0: held); give; try_take (1); give; exit(10 * first + second); then give again: a trap
SINGLE = wasmtime.wat2wasm("""(module
  (import "host" "take" (func $take))
  (import "host" "try_take" (func $try_take (result i32)))
  (import "host" "give" (func $give))
  (import "host" "report" (func $report (param i32)))
  (memory (export "memory") 1)
  (func $misuse (call $give))
  (func (export "_start") (local $first i32)
    (call $take)
    (local.set $first (call $try_take))
    (call $give)
    (call $report (i32.add (i32.mul (local.get $first) (i32.const 10)) (call $try_take)))
    (call $give)
    (call $misuse)))""")


def functions(lock: HostLock, seen: list[int]) -> list[object]:
    @host("host", "take", "", "")
    def take(call):  # type: ignore[no-untyped-def]
        yield from lock.acquire(call)

    @host("host", "try_take", "", "i32")
    def try_take(call):  # type: ignore[no-untyped-def]
        return int(lock.try_acquire(call))

    @host("host", "give", "", "")
    def give(call):  # type: ignore[no-untyped-def]
        lock.release(call)

    @host("host", "report", "i32", "")
    def report(call, v):  # type: ignore[no-untyped-def]
        seen.append(v)
        assert lock.holder(call) == 0

    return [take, try_take, give, report]


@pytest.mark.parametrize("preempt", [Preempt.FUEL, Preempt.EPOCH, Preempt.OS])
def test_try_acquire_release_and_a_release_by_a_non_holder_traps(preempt: Preempt) -> None:
    seen: list[int] = []
    o = Runner(RunSettings(preempt=preempt)).run(SINGLE, host_functions=functions(HostLock("db"), seen))
    assert seen == [1]  # try_take while held: 0; after give: 1
    assert o.status is Status.TRAPPED
    assert o.trap_message == "host lock 'db' released by thread 0, but nobody holds it"
    assert o.threads[0].frames[0].startswith("misuse")


@pytest.mark.parametrize("preempt", [Preempt.FUEL, Preempt.EPOCH, Preempt.OS])
def test_a_guest_thread_waiting_for_a_host_lock_is_part_of_deadlock_detection(preempt: Preempt) -> None:
    db = HostLock("db")

    @host("host", "with_db", "i32", "i32")
    def with_db(call, x):  # type: ignore[no-untyped-def]
        return (yield from db.locked(call, lambda: x + 1))

    @host("host", "begin", "", "")
    def begin(call):  # type: ignore[no-untyped-def]
        yield from db.acquire(call)

    @host("host", "end", "", "")
    def end(call):  # type: ignore[no-untyped-def]
        db.release(call)

    runner = Runner(RunSettings(preempt=preempt))
    fns = [with_db, begin, end]
    statuses = set()
    for _ in range(40 if preempt is Preempt.FUEL else 10):
        o = runner.explore(C / "host_lock_order.wasm", schedules=40, host_functions=fns).outcome \
            if preempt is Preempt.FUEL else runner.run(C / "host_lock_order.wasm", host_functions=fns)
        statuses.add(o.status)
        if o.status is Status.DEADLOCK:
            assert "host lock 'db' (held by thread" in o.report
            break
        assert o.status is Status.EXITED and o.stdout.startswith("sum="), o.report
    if preempt is Preempt.FUEL:
        assert Status.DEADLOCK in statuses  # some schedule deadlocks, and the next execution starts clean
