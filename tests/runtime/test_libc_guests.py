"""Real wasi-libc guests (guests/libc, musl pthreads) through the CLI, in every preempt mode.

These are the programs users build with wasi-sdk: musl's mutexes, condition variables,
barriers, semaphores, rwlocks, once, keys, timed and busy-wait futex waits, exit() and
traps from any thread. Each guest checks its own invariant and prints one deterministic
result line; the expectations are what the reference runtime (wasmtime 36.0.9) gives
(guests/README.md). Every run is a subprocess with a generous timeout: a scheduler bug
may hang it, and a hang must fail the test, not the session.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.schedulers import PolicyConfig, RandomWalk, derive_seed
from pytest_wasmconc.schedulers.random_walk import STAY_WEIGHTS

LIBC = Path(__file__).resolve().parents[2] / "guests" / "libc"
MODES = ["fuel", "epoch", "os"]
LIMIT = CHILD_LIMIT_S  # seconds per CLI call: far above any expected run, only a hang reaches it
BACKSTOP = "240"  # wasmconc's own wall-clock backstop: a hang ends with its report, inside LIMIT


def wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], capture_output=True, text=True,
                              timeout=LIMIT, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`wasmconc {shlex.join(args)}` gave no result within {LIMIT:.0f} s (hang)\n"
                    f"stdout: {exc.stdout!r:.2000}\nstderr: {exc.stderr!r:.2000}")


def run(mode: str, guest: str, *args: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return wasmconc("run", "--preempt", mode, "--timeout", BACKSTOP, *extra, str(LIBC / f"{guest}.wasm"), "--", *args)


def explore(guest: str, *args: str, schedules: int, seed: int,
            extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return wasmconc("explore", "--schedules", str(schedules), "--seed", str(seed), "--timeout", BACKSTOP, *extra,
                    str(LIBC / f"{guest}.wasm"), "--", *args)


def shown(proc: subprocess.CompletedProcess[str]) -> str:
    """The start of what the CLI said, for assertion messages."""
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[:1500]}\n--- stderr ---\n{proc.stderr[:3000]}"


def assert_result(proc: subprocess.CompletedProcess[str], code: int, line: str) -> None:
    assert (proc.returncode, proc.stdout) == (code, line), shown(proc)
    assert "Traceback" not in proc.stderr, shown(proc)


Case = tuple[str, list[str], int, str]  # guest, its arguments, exit code, stdout; see guests/README.md

MANY_RUNNABLE: list[Case] = [
    ("mutex_many_threads", ["24"], 0, "threads=24 counter=12000\n"),
    ("mutex_many_threads", ["64"], 0, "threads=64 counter=32000\n"),
    ("cas_counter", ["20"], 0, "threads=20 counter=10000\n"),
    ("barrier_threads", ["1000"], 0, "threads=1000 serial=1 early=0\n"),
]
SPAWNING: list[Case] = [
    ("spawn_while_busy", ["16", "3"], 0, "children=16 sum=1280800\n"),
    ("thread_pool", ["300", "4"], 0, "jobs=300 workers=4 sum=145471\n"),
]
TIMED_WAITS: list[Case] = [
    ("cond_timedwait_timeout", ["100"], 0, "timedwait: ETIMEDOUT after 100 ms\n"),
    ("cond_timedwait_signalled", ["20"], 0, "timedwait: signalled after the worker's 20 ms sleep\n"),
    ("sem_timedwait", [], 0, "sem_timedwait: timeout=ETIMEDOUT trywait=EAGAIN posted=0\n"),
]
PRIMITIVES: list[Case] = [
    ("sem_bounded_buffer", ["400", "4"], 0, "items=400 sum=80200\n"),
    ("rwlock_readers_writers", ["200"], 0, "writes=400 a=400 b=400 torn=0\n"),
    ("once_init", ["16"], 0, "init calls=1 threads=16 incomplete=0\n"),
    ("thread_specific", ["8"], 0, "destructors=8 ids=28 wrong=0\n"),
    ("detached_threads", ["8"], 0, "detached=8 finished=8 sum=36\n"),
    ("abba_deadlock", ["ordered", "20"], 0, "no deadlock after 20 rounds, total=100\n"),
]
SPINNING: list[Case] = [
    ("yield_spin_sleeper", ["1000"], 0, "sleeper woke after 1000 ms; spinner saw the flag\n"),
    ("clock_spin_deadline", ["500"], 0, "spun until the 500 ms deadline; worker sum=20000100000\n"),
    ("busywait_timedwait", ["500", "2000"], 0, "busywait timedwait: ETIMEDOUT after 500 ms; counter=2000\n"),
    ("spin_barrier", ["32", "1"], 0, "threads=32 arrived=32\n"),
    ("spin_barrier", ["32", "0"], 0, "threads=32 arrived=32\n"),
]


def case_id(case: Case) -> str:
    return "-".join([case[0], *case[1]])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", MANY_RUNNABLE, ids=case_id)
def test_many_runnable_threads_lose_no_update_and_all_meet(mode: str, case: Case) -> None:
    guest, args, code, line = case
    assert_result(run(mode, guest, *args), code, line)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", SPAWNING, ids=case_id)
def test_threads_spawned_while_others_run_all_finish_their_work(mode: str, case: Case) -> None:
    guest, args, code, line = case
    assert_result(run(mode, guest, *args), code, line)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", TIMED_WAITS, ids=case_id)
def test_timed_waits_time_out_at_their_deadline_or_return_when_signalled(mode: str, case: Case) -> None:
    guest, args, code, line = case
    assert_result(run(mode, guest, *args), code, line)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", PRIMITIVES, ids=case_id)
def test_musl_synchronisation_primitives_keep_their_guarantees(mode: str, case: Case) -> None:
    guest, args, code, line = case
    assert_result(run(mode, guest, *args), code, line)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", SPINNING, ids=case_id)
def test_threads_that_never_block_let_sleepers_and_clock_deadlines_arrive(mode: str, case: Case) -> None:
    guest, args, code, line = case
    assert_result(run(mode, guest, *args), code, line)


def test_an_hour_long_timed_wait_ends_in_virtual_time_in_fuel_mode() -> None:
    # every thread is blocked (the worker in the timed wait, main in pthread_join): the
    # virtual clock jumps to the deadline; in real time the 60 s backstop would end it first
    proc = wasmconc("run", "--preempt", "fuel", "--timeout", "60", str(LIBC / "cond_timedwait_timeout.wasm"),
                    "--", "3600000")
    assert_result(proc, 0, "timedwait: ETIMEDOUT after 3600000 ms\n")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("who", ["worker", "main"])
def test_exit_from_one_thread_ends_threads_blocked_in_join_condvar_and_mutex(mode: str, who: str) -> None:
    line = "exit(3) from the worker\n" if who == "worker" else "exit(3) from main\n"
    assert_result(run(mode, "exit_while_blocked", who), 3, line)


@pytest.mark.parametrize("mode", MODES)
def test_a_trap_in_a_worker_ends_the_guest_with_134_and_names_the_trapping_function(mode: str) -> None:
    proc = run(mode, "worker_trap")
    assert (proc.returncode, proc.stdout) == (134, "worker: about to trap\n"), shown(proc)
    assert "trap in thread 2" in proc.stderr, shown(proc)
    assert "at corrupt_state_detected" in proc.stderr and "at trapping_worker" in proc.stderr, shown(proc)
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("mode", MODES)
def test_a_worker_trap_report_shows_where_the_blocked_threads_were(mode: str) -> None:
    # the report has every guest thread's state and backtrace (as a deadlock report does):
    # main on its way into (or in) pthread_join, the other worker on its way into (or in)
    # pthread_mutex_lock: the guest makes sure both have got that far before the trap
    proc = run(mode, "worker_trap")
    assert proc.returncode == 134, shown(proc)
    assert "at __original_main" in proc.stderr, shown(proc)
    assert "at blocked_worker" in proc.stderr, shown(proc)
    assert "finished" not in proc.stderr, shown(proc)  # nobody had finished: no contradicting state


@pytest.mark.parametrize("mode", MODES)
def test_joining_a_worker_that_waits_for_the_held_mutex_is_a_deadlock_with_musl_backtraces(mode: str) -> None:
    proc = run(mode, "join_holding_lock")
    assert (proc.returncode, proc.stdout) == (124, "worker: locking the mutex main holds\n"), shown(proc)
    err = proc.stderr
    assert "deadlock! every live guest thread of " in err and "join_holding_lock.wasm is blocked" in err, shown(proc)
    assert "at __pthread_join" in err, shown(proc)
    assert "at __pthread_mutex_lock" in err and "at lock_the_mutex" in err, shown(proc)


# explore (fuel mode): many schedules of the guests with many runnable threads. The
# per-thread work is smaller than in the runs above, so 50 schedules take seconds.
EXPLORE_MANY: list[tuple[str, list[str], int]] = [  # guest, its arguments, schedules
    ("mutex_many_threads", ["24", "100"], 50),
    ("mutex_many_threads", ["64", "100"], 50),
    ("cas_counter", ["20", "200"], 50),
    ("barrier_threads", ["200"], 50),
    ("barrier_threads", ["1000"], 2),
]


@pytest.mark.parametrize("case", EXPLORE_MANY, ids=lambda c: "-".join([c[0], *c[1]]))
def test_explore_passes_every_schedule_of_many_runnable_threads(case: tuple[str, list[str], int]) -> None:
    guest, args, schedules = case
    proc = explore(guest, *args, schedules=schedules, seed=11)
    assert proc.returncode == 0, shown(proc)
    assert f"explored {schedules} schedules" in proc.stdout, shown(proc)
    assert f"outcomes: exited with code 0 x{schedules}\n" in proc.stdout, shown(proc)


def test_explore_finds_the_abba_deadlock_and_shows_both_threads_in_musl_mutex_lock() -> None:
    proc = explore("abba_deadlock", "abba", "20", schedules=50, seed=11)
    out = proc.stdout
    assert proc.returncode == 1, shown(proc)
    assert "deadlock! every live guest thread of " in out and "abba_deadlock.wasm is blocked" in out, shown(proc)
    assert out.count("at __pthread_mutex_lock") == 2, shown(proc)
    assert "at a_then_b" in out and "at b_then_a" in out, shown(proc)
    replay = next(ln for ln in out.splitlines() if ln.startswith("replay: "))
    argv = shlex.split(replay[len("replay: "):])
    assert argv[:2] == ["wasmconc", "replay"], replay
    again = wasmconc(*argv[1:])
    assert again.returncode == 124, shown(again)
    assert "abba_deadlock.wasm is blocked and nothing can wake them" in again.stderr, shown(again)


def test_explore_never_reports_a_deadlock_when_both_threads_lock_in_the_same_order() -> None:
    proc = explore("abba_deadlock", "ordered", "20", schedules=50, seed=11)
    assert proc.returncode == 0, shown(proc)
    assert "outcomes: exited with code 0 x50\n" in proc.stdout, shown(proc)


def test_lock_order_check_reports_the_abba_inversion_from_a_run_that_did_not_deadlock() -> None:
    # round robin with one round: thread 1 finishes its round inside its first quantum, so
    # this run cannot deadlock; the inversion must still be reported
    proc = run("fuel", "abba_deadlock", "abba", "1", extra=("--policy", "rr", "--check", "lock-order"))
    assert (proc.returncode, proc.stdout) == (1, "no deadlock after 1 rounds, total=100\n"), shown(proc)
    assert "lock-order inversion (potential deadlock): cycle in lock order M1 -> M2 -> M1" in proc.stderr
    assert "(__pthread_mutex_lock)" in proc.stderr and "at a_then_b" in proc.stderr and "at b_then_a" in proc.stderr


def test_lock_order_check_passes_the_fixed_order_with_musl_mutexes() -> None:
    proc = explore("abba_deadlock", "ordered", "3", schedules=20, seed=11, extra=("--check", "lock-order"))
    assert proc.returncode == 0, shown(proc)
    assert "__pthread_mutex_lock" in proc.stdout and "; no lock-order inversion" in proc.stdout, shown(proc)


@pytest.mark.parametrize("mode", ["1", "0"], ids=["sched_yield", "atomic-load"])
def test_a_spin_barrier_of_many_threads_ends_under_every_yield_point_stickiness(mode: str) -> None:
    # The random walk keeps a thread at its atomics' scheduling points with odds drawn per schedule
    # (random_walk.STAY_WEIGHTS): a spinning thread kept longer must still leave the others their
    # turns, so the barrier ends and no hang is reported, whichever odds a schedule drew.
    seeds = [derive_seed(1, i) for i in range(6)]
    assert {RandomWalk(PolicyConfig(seed=s)).describe()["stay"] for s in seeds} == set(STAY_WEIGHTS)
    proc = explore("spin_barrier", "48", mode, schedules=6, seed=1, extra=("--policy", "random"))
    assert proc.returncode == 0, shown(proc)
    assert "outcomes: exited with code 0 x6" in proc.stdout, shown(proc)
