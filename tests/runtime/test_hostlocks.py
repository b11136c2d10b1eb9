"""HostLock (deprecated): a lock generator host functions take for the calling guest thread, per execution,
in every mode, reporting the same LockEvents as the host sync objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from pytest_wasmconc.host import GuestCall, Lock, LockEvent, SyncEvent
from pytest_wasmconc.runtime import HostLock, Preempt, Runner, RunSettings, Status, host
from pytest_wasmconc.runtime.userhost.sync import GuestOwner

C = Path(__file__).resolve().parents[2] / "guests" / "c"

# HostLock warns when made (one release of deprecation); the tests below pin that it still works.
pytestmark = pytest.mark.filterwarnings("ignore:HostLock is deprecated:DeprecationWarning")

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
    if preempt is Preempt.FUEL:
        # Some schedule deadlocks (about 1 in 30 under the random walk), each after the ones before
        # exited cleanly: an execution starts with the host lock free.
        exploration = runner.explore(C / "host_lock_order.wasm", schedules=400, host_functions=fns)
        assert exploration.outcome.status is Status.DEADLOCK, exploration.outcome.report
        assert "host lock 'db' (held by thread" in exploration.outcome.report
        return
    for _ in range(10):
        o = runner.run(C / "host_lock_order.wasm", host_functions=fns)
        if o.status is Status.DEADLOCK:
            assert "host lock 'db' (held by thread" in o.report
            break
        assert o.status is Status.EXITED and o.stdout.startswith("sum="), o.report


def test_making_a_host_lock_warns_that_it_is_deprecated_and_names_the_replacement() -> None:
    with pytest.warns(DeprecationWarning, match=r"HostLock is deprecated .* pytest_wasmconc\.host\.Lock") as seen:
        HostLock("db")
    assert seen[0].filename == __file__  # the warning points at the caller


class EventLog:
    """An extension that keeps every event host code emits."""

    pass_key = None

    def __init__(self) -> None:
        self.events: list[tuple[int, object]] = []

    def instrument(self, rw: object, names: object) -> None:
        raise AssertionError("no pass")

    def attach(self, program: object, settings: object) -> EventLog:
        return self

    def host_functions(self) -> list[object]:
        return []

    def on_event(self, call: object, event: object) -> None:
        self.events.append((call.thread_id, event))  # type: ignore[attr-defined]

    def finished(self, outcome: object, rerun: object) -> None:
        pass


def test_a_host_lock_and_a_host_sync_lock_report_the_same_lock_events() -> None:
    assert SyncEvent is LockEvent  # the old name of the one event type
    old = EventLog()
    db = HostLock("db")
    o = Runner(RunSettings(seed=0)).run(SINGLE, host_functions=functions(db, []), extensions=[old])  # type: ignore[list-item]
    assert o.status is Status.TRAPPED  # (SINGLE ends with a release by a non-holder)
    kinds = ["before", "acquired", "released", "try-acquired", "released"]
    assert [(tid, type(e), e.kind, e.lock) for tid, e in old.events] == \
        [(0, LockEvent, k, db) for k in kinds]  # type: ignore[attr-defined]
    assert {e.owner.label for _, e in old.events} == {"thread 0 (main)"}  # type: ignore[attr-defined]
    assert all(isinstance(e.owner, GuestOwner) for _, e in old.events)  # type: ignore[attr-defined]

    new = EventLog()
    lock = Lock("db")

    def take() -> None:
        lock.acquire()

    def try_take() -> int:
        return int(lock.acquire(blocking=False))

    def give() -> None:
        lock.release()

    def report(call: GuestCall, v: int) -> None:
        pass

    imports = {"host": {"take": take, "try_take": try_take, "give": give, "report": report}}
    o = Runner(RunSettings(seed=0)).run(SINGLE, imports=imports, extensions=[new])  # type: ignore[list-item]
    assert o.status is Status.TRAPPED  # a release of an unlocked host Lock raises RuntimeError
    assert [(tid, type(e), e.kind, e.lock) for tid, e in new.events] == \
        [(0, LockEvent, k, lock) for k in kinds]  # type: ignore[attr-defined]
    names = [e.function for _, e in new.events]  # type: ignore[attr-defined]
    assert names == ["host.take", "host.take", "host.give", "host.try_take", "host.give"]
    assert {e.owner.label for _, e in new.events} == {"thread 0 (main)"}  # type: ignore[attr-defined]
