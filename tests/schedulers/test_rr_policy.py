"""Round robin: a fixed queue in id order, blocked threads skipped, fixed slices."""

from __future__ import annotations

from schedsim import Set, Spawn, Wait, Work, program, run

from pytest_wasmconc.schedulers import PolicyConfig, RoundRobin, SwitchReason

PREEMPTED = SwitchReason.PREEMPTED


def test_rr_starts_with_the_lowest_runnable_id() -> None:
    assert RoundRobin(PolicyConfig()).pick([2, 5], None, SwitchReason.START) == 2


def test_rr_moves_to_the_next_id_after_current_and_wraps() -> None:
    rr = RoundRobin(PolicyConfig())
    assert rr.pick([0, 1, 2], 0, PREEMPTED) == 1
    assert rr.pick([0, 1, 2], 1, SwitchReason.YIELDED) == 2
    assert rr.pick([0, 1, 2], 2, PREEMPTED) == 0


def test_rr_lets_the_only_runnable_thread_continue() -> None:
    assert RoundRobin(PolicyConfig()).pick([3], 3, PREEMPTED) == 3


def test_rr_skips_ids_that_are_not_runnable_when_current_blocks() -> None:
    # Thread 1 just blocked and thread 2 is blocked too: next runnable after 1 is 3.
    assert RoundRobin(PolicyConfig()).pick([0, 3], 1, SwitchReason.BLOCKED) == 3


def test_rr_continues_after_the_exited_thread_rather_than_restarting() -> None:
    rr = RoundRobin(PolicyConfig())
    rr.pick([0, 1, 2, 3], None, SwitchReason.START)
    assert rr.pick([0, 1, 2, 3], 0, PREEMPTED) == 1
    # Thread 1 exits: `current` is None, the queue goes on after 1.
    assert rr.pick([0, 2, 3], None, SwitchReason.EXITED) == 2


def test_rr_new_execution_restarts_at_the_head_of_the_queue() -> None:
    rr = RoundRobin(PolicyConfig())
    rr.pick([0, 1], None, SwitchReason.START)
    rr.pick([0, 1], 0, PREEMPTED)
    rr.new_execution()
    assert rr.pick([0, 1, 2], None, SwitchReason.EXITED) == 0


def test_rr_slice_is_always_the_configured_slice() -> None:
    main = program(Spawn(program(Work(25))), Work(40))
    trace = run(RoundRobin(PolicyConfig(slice=7)), main)
    assert set(trace.slices) == {7}


def test_rr_cycles_through_threads_in_id_order_on_preemption() -> None:
    worker = program(Work(30))
    main = program(Spawn(worker), Spawn(worker), Work(30))
    trace = run(RoundRobin(PolicyConfig(slice=10)), main)
    assert trace.decisions == [
        0,  # START: main spawns 1
        1,  # SPAWNED: next after 0
        0,  # 1 preempted: wrap to 0, which spawns 2
        1, 2, 0,  # SPAWNED: the queue 0 -> 1 -> 2 -> 0, one quantum each
        1, 2, 0,  # 1 finishes its work and exits within its quantum
        2, 0,  # EXITED: the queue goes on after 1, with 2; then 2 exits and 0 ends
    ]
    assert trace.exit_order == [1, 2, 0]


def test_rr_skips_a_blocked_thread_until_it_is_woken() -> None:
    waiter = program(Wait("go"), Work(20))
    other = program(Work(40))
    main = program(Spawn(waiter), Spawn(other), Work(20), Set("go"), Work(10))
    trace = run(RoundRobin(PolicyConfig(slice=10)), main)
    assert trace.decisions == [
        0,  # START: main spawns 1
        1,  # SPAWNED: 1 waits on "go" and blocks
        0,  # BLOCKED: 2 does not exist yet, wrap to 0, which spawns 2
        2, 0, 2, 0, 2,  # 1 is blocked: the queue is 0 <-> 2
        0,  # 0 notifies "go" (YIELDED): 1 is runnable again
        1, 2, 0,  # back to the full queue in id order; 2 exits
        1,  # 0 exits, 1 finishes
    ]
    while_blocked = trace.picks[2:9]
    assert all(1 not in p.runnable and p.chosen != 1 for p in while_blocked)
