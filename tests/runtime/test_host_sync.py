"""Host functions that wait on host objects park the guest thread; the waits are scheduling points
and part of deadlock detection."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from pytest_wasmconc.host import (
    Condition,
    Event,
    GuestCall,
    Lock,
    Queue,
    RLock,
    Semaphore,
    SyncEvent,
    observe,
    sleep,
)
from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status

GUESTS = Path(__file__).resolve().parents[2] / "guests" / "c"
MODES = [Preempt.FUEL, Preempt.EPOCH, Preempt.OS]

# Main spawns a worker; each calls its own host function (host.main / host.worker); main waits
# for the worker and exits with main_result * 16 + worker_result.
TWO_THREADS = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (import "host" "main" (func $host_main (result i32)))
  (import "host" "worker" (func $host_worker (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (export "memory" (memory 0))
  (func $worker_body (export "wasi_thread_start") (param i32 i32)
    (i32.atomic.store (i32.const 0) (call $host_worker))
    (i32.atomic.store (i32.const 4) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1))))
  (func $main_body
    (local $r i32)
    (drop (call $spawn (i32.const 0)))
    (local.set $r (call $host_main))
    (block $done (loop $l
      (br_if $done (i32.atomic.load (i32.const 4)))
      (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
      (br $l)))
    (call $exit (i32.add (i32.mul (local.get $r) (i32.const 16)) (i32.atomic.load (i32.const 0)))))
  (func (export "_start") (call $main_body)))"""


def _two(main: Any, worker: Any, preempt: Preempt = Preempt.FUEL, **kw: Any) -> Any:
    return Runner(RunSettings(preempt=preempt, **kw)).run(
        wasmtime.wat2wasm(TWO_THREADS), imports={"host": {"main": main, "worker": worker}})


# -- producer / consumer through the host ---------------------------------------------------------------


@pytest.mark.parametrize("preempt", MODES)
def test_a_bounded_host_queue_between_two_guest_threads(preempt: Preempt) -> None:
    q = Queue(maxsize=2, name="items")
    o = Runner(RunSettings(preempt=preempt)).run(
        GUESTS / "host_queue.wasm", imports={"host": {"put": q.put, "get": q.get}})
    assert (o.status, o.exit_code, o.stdout) == (Status.EXITED, 0, "sum=210\n"), o.report
    assert q.empty()


def test_every_schedule_of_the_host_queue_is_correct_and_replays() -> None:
    runner = Runner(RunSettings(preempt=Preempt.FUEL))
    exp = runner.explore(GUESTS / "host_queue.wasm", GuestIO(args=["8"]), schedules=30,
                         imports=lambda: {"host": {"put": (q := Queue(1)).put, "get": q.get}})
    assert not exp.failed, exp.outcome.report
    first = runner.run(GUESTS / "host_queue.wasm", GuestIO(args=["8"]),
                       imports=lambda: {"host": {"put": (q := Queue(1)).put, "get": q.get}})
    again = runner.run(GUESTS / "host_queue.wasm", GuestIO(args=["8"]),
                       imports=lambda: {"host": {"put": (q := Queue(1)).put, "get": q.get}})
    assert first.steps == again.steps and first.decisions == again.decisions


# -- a guest/host deadlock through a host lock --------------------------------------------------------------


def _lock_callback_imports() -> dict[str, dict[str, Any]]:
    db = Lock("db")

    def with_lock(call: GuestCall, x: int) -> int:
        with db:
            return call.call("guest_callback", x)  # holding db, the guest locks its mutex

    def query(x: int) -> int:
        with db:  # called with the guest's mutex held
            return x

    return {"host": {"with_lock": with_lock, "query": query}}


def _assert_explained(o: Any) -> None:
    assert o.status is Status.DEADLOCK, o.report
    t1, t2 = o.threads[1], o.threads[2]
    assert t1.waiting_on.startswith("memory.atomic.wait32")
    assert t1.frames[0].startswith("pthread_mutex_lock")
    assert t1.frames[1].startswith("guest_callback")
    assert t1.frames[2] == "[host function host.with_lock] (holds host lock 'db')"
    assert t1.frames[3].startswith("  python with_lock (") and 'call.call("guest_callback", x)' in t1.frames[3]
    assert t1.frames[4].startswith("with_lock_thread")
    assert t2.waiting_on == "host lock 'db' (held by thread 1)"
    assert t2.frames[0] == "[host function host.query]"
    assert t2.frames[1].startswith("  python query (") and t2.frames[1].endswith("with db:  # called with the "
                                                                                 "guest's mutex held")
    assert t2.frames[2].startswith("query_thread")
    assert "host objects:\n  <host lock 'db' held by thread 1>" in o.report


def test_a_host_lock_held_across_a_guest_callback_deadlocks_from_the_first_schedule_that_reaches_it() -> None:
    runner = Runner(RunSettings(preempt=Preempt.FUEL, seed=7))
    guest = GUESTS / "host_lock_callback.wasm"
    exp = runner.explore(guest, GuestIO(args=["4"]), schedules=100, imports=_lock_callback_imports)
    assert exp.failed, exp.outcome.report
    _assert_explained(exp.outcome)
    # The schedules before it passed; the failing one replays exactly.
    assert all(k.startswith("exited with code 0") or k.startswith("deadlock") for k in exp.distinct)
    again = runner.replay(guest, exp.outcome.token or "", GuestIO(args=["4"]), imports=_lock_callback_imports)
    assert again.status is Status.DEADLOCK and again.steps == exp.outcome.steps
    _assert_explained(again)


@pytest.mark.parametrize("preempt", [Preempt.EPOCH, Preempt.OS])
def test_the_host_lock_deadlock_is_explained_in_the_other_modes(preempt: Preempt) -> None:
    runner = Runner(RunSettings(preempt=preempt))
    for _ in range(20):
        o = runner.run(GUESTS / "host_lock_callback.wasm", GuestIO(args=["20000"]), imports=_lock_callback_imports)
        if o.status is Status.DEADLOCK:
            break
    _assert_explained(o)


def test_without_the_inversion_there_is_no_deadlock() -> None:
    db = Lock("db")

    def with_lock(call: GuestCall, x: int) -> int:
        value = call.call("guest_callback", x)  # the callback runs before db is taken
        with db:
            return value

    def query(x: int) -> int:
        with db:
            return x

    exp = Runner(RunSettings(preempt=Preempt.FUEL)).explore(
        GUESTS / "host_lock_callback.wasm", GuestIO(args=["4"]), schedules=40,
        imports={"host": {"with_lock": with_lock, "query": query}})
    assert not exp.failed, exp.outcome.report
    assert exp.outcome.stdout.startswith("no deadlock")


def test_a_lock_still_held_when_the_guest_ends_is_released_with_a_note() -> None:
    lock = Lock("leaky")

    def main() -> int:
        lock.acquire()
        return 1

    o = _two(main, lambda: 2)
    assert o.exit_code == 18
    assert not lock.locked()
    assert "note: host lock 'leaky' was still held by thread 0 (main); released" in o.report


# -- waits with timeouts use the execution's clock ------------------------------------------------------------


def test_timed_waits_use_virtual_time_in_fuel_mode() -> None:
    lock = Lock("held")
    holder_ready = Event()
    got = []

    def main() -> int:
        lock.acquire()
        holder_ready.set()
        sleep(1000.0)  # 1000 virtual seconds: nobody waits for real
        lock.release()
        return 1

    def worker() -> int:
        holder_ready.wait()
        got.append(lock.acquire(timeout=5.0))
        return 2

    t0 = time.monotonic()
    o = _two(main, worker)
    assert o.exit_code == 18, o.report
    # The bound is what virtual time proves: the 1000 s sleep did not happen in real time
    # (100 s is far above what this run takes on a loaded machine).
    assert time.monotonic() - t0 < 100
    assert got == [False]


@pytest.mark.parametrize("preempt", MODES)
def test_event_condition_and_semaphore_hand_off_between_guest_threads(preempt: Preempt) -> None:
    ev, cond, sem = Event("go"), Condition(name="cv"), Semaphore(0, name="sem")
    box: list[int] = []

    def main() -> int:
        ev.set()
        with cond:
            cond.wait_for(lambda: bool(box))
        sem.acquire()
        return box[0]

    def worker() -> int:
        ev.wait()
        with cond:
            box.append(3)
            cond.notify()
        sem.release()
        return 4

    o = _two(main, worker, preempt)
    assert o.exit_code == 3 * 16 + 4, o.report


def test_an_rlock_is_reentrant_for_its_guest_thread_only() -> None:
    rl = RLock("r")
    order = []

    def main() -> int:
        with rl, rl:
            order.append("main")
            sleep(1.0)
        return 1

    def worker() -> int:
        sleep(0.5)
        with rl:
            order.append("worker")
        return 2

    o = _two(main, worker)
    assert o.exit_code == 18 and order == ["main", "worker"]


@pytest.mark.parametrize("preempt", MODES)
def test_two_host_locks_taken_in_opposite_orders_deadlock_with_both_python_stacks(preempt: Preempt) -> None:
    a, b = Lock("a"), Lock("b")
    both = threading.Barrier(2) if preempt is Preempt.OS else None

    def take(first: Lock, second: Lock) -> int:
        with first:
            if both is not None:
                both.wait(120)  # real threads: make sure each holds its first lock
            else:
                sleep(1.0)  # virtual time: the other thread takes its first lock meanwhile
            with second:
                return 1

    o = _two(lambda: take(a, b), lambda: take(b, a), preempt)
    assert o.status is Status.DEADLOCK, o.report
    assert o.threads[0].waiting_on == "host lock 'b' (held by thread 1)"
    assert o.threads[1].waiting_on == "host lock 'a' (held by thread 0 (main))"
    assert o.threads[0].frames[0] == "[host function host.main] (holds host lock 'a')"
    assert o.threads[1].frames[0] == "[host function host.worker] (holds host lock 'b')"
    assert all(t.frames[2].startswith("  python take (") and t.frames[2].endswith("with second:")
               for t in o.threads)


def test_waiting_on_a_lock_nobody_releases_is_a_deadlock_naming_it() -> None:
    lock = Lock("forever")

    def main() -> int:
        lock.acquire()
        return 0

    def worker() -> int:
        lock.acquire()
        return 0

    o = _two(main, worker)
    assert o.status is Status.DEADLOCK, o.report
    assert o.threads[1].waiting_on == "host lock 'forever' (held by thread 0 (main))"


@pytest.mark.parametrize("preempt", [Preempt.EPOCH, Preempt.OS])
def test_a_lock_held_by_a_plain_python_thread_is_waiting_for_the_world(preempt: Preempt) -> None:
    lock = Lock("app")
    lock.acquire()  # held by the test's thread
    threading.Timer(0.3, lock.release).start()
    o = _two(lambda: (lock.acquire(), lock.release(), 1)[-1], lambda: 2, preempt)
    assert o.exit_code == 18, o.report


# -- observers -------------------------------------------------------------------------------------------------


def test_lock_events_reach_observers_with_the_guest_thread_and_host_function() -> None:
    lock = Lock("seen")
    events: list[SyncEvent] = []

    def main() -> int:
        with lock:
            pass
        return 1

    stop = observe(events.append)
    try:
        o = _two(main, lambda: 2)
    finally:
        stop()
    assert o.exit_code == 18
    assert [(e.kind, e.name, e.owner.label, e.function) for e in events] == [
        ("before", "seen", "thread 0 (main)", "host.main"),
        ("acquired", "seen", "thread 0 (main)", "host.main"),
        ("released", "seen", "thread 0 (main)", "host.main"),
    ]


def test_host_objects_work_from_plain_python_threads_too() -> None:
    q: Queue = Queue(1)
    t = threading.Thread(target=lambda: [q.put(i) for i in range(3)])
    t.start()
    assert [q.get(timeout=120) for _ in range(3)] == [0, 1, 2]
    t.join()
    ev = Event()
    assert ev.wait(0.01) is False
