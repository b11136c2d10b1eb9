"""The lock-order check on real guests: what it reports, and what it must not.

Guests: guests/c/lock_order (opposite orders), philosophers (plain, gate,
ordered), trylock_backoff, host_lock_order (a host lock through host
functions), host_lock_callback (a host lock held across a call back into
the guest), guests/wat/musl_lock_order (musl's mutex names), the Zig guest.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S, wasm_tools

from pytest_wasmconc.checks.lock_order import TITLE, LockOrderCheck, lock_order_of
from pytest_wasmconc.host import GuestCall, Lock
from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status, host
from pytest_wasmconc.runtime.userhost.hostlock import HostLock

# HostLock is deprecated (it warns when made) but works for one more release: pinned here.
pytestmark = pytest.mark.filterwarnings("ignore:HostLock is deprecated:DeprecationWarning")

REPO = Path(__file__).resolve().parents[2]
C = REPO / "guests" / "c"


def explore(guest: Path, args: list[str] | None = None, schedules: int = 30, **kw: object) -> LockOrderCheck:
    check = LockOrderCheck()
    Runner(RunSettings(seed=11)).explore(guest, GuestIO(args=args or []), schedules=schedules,
                                         extensions=[check], **kw)  # type: ignore[arg-type]
    return check


def frames_of(text: str, header: str) -> list[str]:
    """The `at ...` lines under the first line containing `header`."""
    lines = text.splitlines()
    i = next(i for i, ln in enumerate(lines) if header in ln)
    out = []
    for ln in lines[i + 1:]:
        if not ln.strip().startswith("at "):
            break
        out.append(ln.strip()[3:])
    return out


def test_opposite_orders_are_reported_from_the_first_schedule_before_any_deadlock() -> None:
    check = LockOrderCheck()
    o = Runner(RunSettings(seed=0)).run(C / "lock_order.wasm", extensions=[check])
    assert (o.status, o.exit_code, o.stdout) == (Status.EXITED, 0, "no deadlock\n")  # nothing deadlocked
    assert lock_order_of(o) is check and check.failed
    (cycle,) = check.cycles()
    assert len(cycle.locks) == 2 and sorted(w.tid for w in cycle.witnesses) == [1, 2]
    text = check.report()
    assert text.startswith(f"{TITLE} (potential deadlock): cycle in lock order M1 -> M2 -> M1")
    # Both acquisitions of both edges, each with its full wasm backtrace (from a replay):
    # each edge under the thread that made it, both acquisitions inside that thread's function.
    for thread, func, other in (("thread 1", "thread_ab", "thread_ba"), ("thread 2", "thread_ba", "thread_ab")):
        edge = re.search(rf"  M\d acquired while holding M\d in {thread} \(.*?\):\n(.*?)(?=\n  M\d acquired while|\Z)",
                         text, re.DOTALL)
        assert edge, f"no edge of {thread}:\n{text}"
        assert edge.group(1).count(f"at {func} (") == 2 and other not in edge.group(1), edge.group(1)
    ab_new = frames_of(text, "M2 acquired here")
    ab_held = frames_of(text, "M1 previously acquired")
    for frames in (ab_new, ab_held):
        assert frames[0].startswith(("thread_ab", "thread_ba"))
        assert [f.split(" ")[0] for f in frames[1:]] == ["__wasmconc_thread_entry", "wasi_thread_start"]
    assert ab_new[0] != ab_held[0]  # two different call sites of the same function
    assert "call site" not in text and "not available" not in text


def test_a_schedule_that_deadlocks_still_shows_its_cycle() -> None:
    from pytest_wasmconc.schedulers import derive_seed

    runner = Runner(RunSettings())
    for i in range(200):  # (the check's instrumentation changes the schedules: look for one with it)
        check = LockOrderCheck()
        o = runner.run(C / "lock_order.wasm", settings=RunSettings(seed=derive_seed(0, i)), extensions=[check])
        if o.status is Status.DEADLOCK:
            break
    assert o.status is Status.DEADLOCK
    assert len(check.cycles()) == 1
    assert "not available" not in check.report()  # the replay reaches the requests that never returned


def test_dining_philosophers_without_a_gate_are_a_five_lock_cycle() -> None:
    check = explore(C / "philosophers.wasm", ["plain"], schedules=1)
    (cycle,) = check.cycles()
    assert len(cycle.locks) == 5
    assert sorted(w.tid for w in cycle.witnesses) == [1, 2, 3, 4, 5]
    assert "cycle in lock order M1 -> M2 -> M3 -> M4 -> M5 -> M1" in check.report()
    assert "at pick_up" in check.report()


@pytest.mark.parametrize("args", [["gate"], ["gate", "5", "3"], ["ordered"], ["ordered", "7", "2"]])
def test_philosophers_under_a_gate_lock_or_with_ordered_forks_are_not_reported(args: list[str]) -> None:
    check = explore(C / "philosophers.wasm", args)
    assert check.cycles() == [] and not check.failed, check.report()
    assert len(check.graph.edges) >= 5  # they did take nested locks


def test_a_trylock_back_off_is_not_a_deadlock_and_not_reported() -> None:
    check = explore(C / "trylock_backoff.wasm", ["3"])
    assert not check.failed, check.report()
    assert len(check.graph.edges) == 1  # A -> B only: the trylock of A under B adds no edge


def test_musl_named_mutexes_are_found_and_their_inner_calls_not_counted_twice() -> None:
    check = explore(REPO / "guests" / "wat" / "musl_lock_order.wasm", schedules=1)
    (cycle,) = check.cycles()
    assert "(__pthread_mutex_lock)" in check.report()
    info = next(iter(check.instrumentation.values()))
    assert {s.caller for s in info.sites} == {"thread_ab", "thread_ba"}


# -- host locks ------------------------------------------------------------------------------------


def host_lock_functions(db: HostLock) -> list[object]:
    @host("host", "with_db", "i32", "i32")
    def with_db(call, x):  # type: ignore[no-untyped-def]
        return (yield from db.locked(call, lambda: x + 1))

    @host("host", "begin", "", "")
    def begin(call):  # type: ignore[no-untyped-def]
        yield from db.acquire(call)

    @host("host", "end", "", "")
    def end(call):  # type: ignore[no-untyped-def]
        db.release(call)

    return [with_db, begin, end]


def test_a_host_lock_inversion_through_host_functions_is_reported() -> None:
    check = LockOrderCheck()
    o = Runner(RunSettings(seed=0)).run(C / "host_lock_order.wasm", host_functions=host_lock_functions(HostLock("db")),
                                        extensions=[check])
    assert o.status is Status.EXITED and o.exit_code == 0
    (cycle,) = check.cycles()
    text = check.report()
    assert "host lock 'db'" in text and "guest lock @" in text
    assert "HostLock.acquire" in text and "host function (Python):" in text
    assert "with_db (test_lock_order_guests.py:" in text and "begin (test_lock_order_guests.py:" in text
    # the guest side of the host lock's acquisitions, from the replay
    assert "at guest_lock_then_host" in text and "at host_then_guest_lock" in text


def test_the_same_inversion_through_plain_host_functions_and_a_host_lock_is_reported() -> None:
    db = Lock("db")

    def with_db(x: int) -> int:
        with db:
            return x + 1

    def begin() -> None:
        db.acquire()  # kept across host calls, like the generator version's

    def end() -> None:
        db.release()

    check = LockOrderCheck()
    o = Runner(RunSettings(seed=0)).run(C / "host_lock_order.wasm", extensions=[check],
                                        imports={"host": {"with_db": with_db, "begin": begin, "end": end}})
    assert o.status is Status.EXITED and o.exit_code == 0, o.report
    (cycle,) = check.cycles()
    text = check.report()
    assert "host lock 'db'" in text and "guest lock @" in text
    assert "Lock.acquire in host function host.with_db" in text and "Lock.acquire in host function host.begin" in text
    assert "with_db (test_lock_order_guests.py:" in text and "begin (test_lock_order_guests.py:" in text
    assert "at guest_lock_then_host" in text and "at host_then_guest_lock" in text


def test_the_host_lock_cycle_really_deadlocks_in_some_schedule() -> None:
    result = Runner(RunSettings(seed=0)).explore(C / "host_lock_order.wasm", schedules=300,
                                                 host_functions=host_lock_functions(HostLock("db")))
    assert result.outcome.status is Status.DEADLOCK
    assert "host lock 'db' (held by thread 2)" in result.outcome.report \
        or "host lock 'db' (held by thread 1)" in result.outcome.report


def test_a_host_lock_held_across_a_call_back_into_the_guest_is_reported() -> None:
    db = Lock("db")

    def with_lock(call: GuestCall, x: int) -> int:
        with db:
            return int(call.call("guest_callback", x))

    def query(x: int) -> int:
        with db:
            return x

    check = LockOrderCheck()
    o = Runner(RunSettings(seed=0)).run(C / "host_lock_callback.wasm", extensions=[check],
                                        imports={"host": {"with_lock": with_lock, "query": query}})
    assert o.status is Status.EXITED, o.report
    (cycle,) = check.cycles()
    text = check.report()
    assert "host lock 'db'" in text
    assert "Lock.acquire in host function host.with_lock" in text
    assert "at guest_callback (@" in text  # the guest mutex, taken inside the host's callback


def test_host_locks_are_per_execution_state() -> None:
    db = HostLock("db")
    fns = host_lock_functions(db)
    runner = Runner(RunSettings(seed=0))
    for _ in range(3):  # a deadlocked execution must not leave the lock held for the next one
        o = runner.run(C / "host_lock_order.wasm", host_functions=fns)
        assert o.status in (Status.EXITED, Status.DEADLOCK)


# -- modes, names, other toolchains ----------------------------------------------------------------


@pytest.mark.parametrize("preempt", [Preempt.EPOCH, Preempt.OS])
def test_without_fuel_the_report_has_the_call_sites(preempt: Preempt) -> None:
    check = LockOrderCheck()
    o = Runner(RunSettings(preempt=preempt)).run(C / "lock_order.wasm", extensions=[check])
    # Epoch and os runs are not deterministic: this one may also have deadlocked;
    # the edges are recorded when a blocking acquire starts, so the cycle is there either way.
    assert o.status in (Status.EXITED, Status.DEADLOCK), o.report
    text = check.report()
    assert TITLE in text
    assert "at thread_ab (@0x" in text and "(call site)" in text
    assert f"full backtrace only in fuel mode; this ran in {preempt.value} mode" in text


def test_backtraces_can_be_switched_off() -> None:
    check = LockOrderCheck(backtraces=False)
    Runner(RunSettings(seed=0)).run(C / "lock_order.wasm", extensions=[check])
    assert "(call site)" in check.report()


def test_a_guest_without_a_name_section_is_refused_with_how_to_keep_names(tmp_path: Path) -> None:
    stripped = tmp_path / "stripped.wasm"
    subprocess.run([wasm_tools(), "strip", "--all", str(C / "lock_order.wasm"), "-o", str(stripped)], check=True,
                   timeout=CHILD_LIMIT_S)
    check = LockOrderCheck()
    runner = Runner(RunSettings(seed=0))
    o = runner.run(stripped, extensions=[check])
    assert o.status is Status.EXITED  # the guest ran; the check could not see its locks
    assert check.failed and check.cycles() == []
    text = check.report()
    assert "no name section" in text and "wasm-opt" in text and "-g" in text
    assert check.problem_with(runner.load(stripped, extensions=[check])) is not None


def test_zig_std_io_mutex_is_instrumented() -> None:
    check = explore(REPO / "guests" / "zig" / "zig_threads.wasm", schedules=1)
    info = next(iter(check.instrumentation.values()))
    assert "Io.Mutex.lockUncancelable" in info.functions.values()
    assert any(s.caller == "zig_threads.increment" for s in info.sites)
    assert len(check.graph.locks) >= 1 and not check.failed


def test_programs_loaded_without_the_pass_are_loaded_again_with_it() -> None:
    runner = Runner(RunSettings(seed=0))
    plain = runner.load(C / "lock_order.wasm")
    check = LockOrderCheck()
    o = runner.run(plain, extensions=[check])
    assert o.stdout == "no deadlock\n" and check.failed
    again = runner.load(plain, extensions=[check])
    assert again.passes == (check.pass_key,) and again.name == plain.name
    assert runner.load(again, extensions=[check]) is again
