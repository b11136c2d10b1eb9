"""The lock-order graph and its rules, from fake lock events (no wasm).

Events go through the check's per-execution recorder exactly as the lock
pass's hooks deliver them: (lock id, result, site), where the site says what
happened (a blocking acquire starts, an acquire returned, a release).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_wasmconc.checks.lock_order import TITLE, LockOrderCheck, LockOrderGraph, Taken, Witness
from pytest_wasmconc.instrument.locks import (
    AFTER,
    BEFORE,
    DEFAULT_LOCK_TABLE,
    RELEASING,
    LockInstrumentation,
    LockSite,
)
from pytest_wasmconc.host import Lock, LockEvent, Semaphore
from pytest_wasmconc.runtime import RunSettings
from pytest_wasmconc.runtime.userhost.hostlock import HostLock

# HostLock is deprecated (it warns when made) but works for one more release: pinned here.
pytestmark = pytest.mark.filterwarnings("ignore:HostLock is deprecated:DeprecationWarning")

LOCK = next(e for e in DEFAULT_LOCK_TABLE if e.pattern.endswith("pthread_mutex_lock"))
TRYLOCK = next(e for e in DEFAULT_LOCK_TABLE if e.pattern.endswith("pthread_mutex_trylock"))
UNLOCK = next(e for e in DEFAULT_LOCK_TABLE if e.pattern.endswith("pthread_mutex_unlock"))

# One site of each kind (what the lock pass would have made of a guest calling them).
SITES = [
    LockSite(0, BEFORE, "pthread_mutex_lock", 10, "worker", 0x100, LOCK),
    LockSite(1, AFTER, "pthread_mutex_lock", 10, "worker", 0x100, LOCK),
    LockSite(2, AFTER, "pthread_mutex_trylock", 10, "worker", 0x120, TRYLOCK),
    LockSite(3, RELEASING, "pthread_mutex_unlock", 10, "worker", 0x140, UNLOCK),
]
S_BEFORE, S_AFTER, S_TRY, S_RELEASE = range(4)
EBUSY = 16


@dataclass
class FakeProgram:
    name: str
    pass_results: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeCall:
    thread_id: int


class Execution:
    """Drives one attachment of the check like a guest would."""

    def __init__(self, check: LockOrderCheck, guest: str = "guest.wasm") -> None:
        info = LockInstrumentation(sites=list(SITES), has_names=True, digest=guest)
        self.rec = check.attach(FakeProgram(guest, {check.pass_key: info}), RunSettings())  # type: ignore[arg-type]
        self.lock_event = self.rec.host_functions()[0].impl

    def lock(self, tid: int, m: int) -> None:
        self.lock_event(FakeCall(tid), m, 0, S_BEFORE)
        self.lock_event(FakeCall(tid), m, 0, S_AFTER)

    def trylock(self, tid: int, m: int, result: int = 0) -> None:
        self.lock_event(FakeCall(tid), m, result, S_TRY)

    def unlock(self, tid: int, m: int) -> None:
        self.lock_event(FakeCall(tid), m, 0, S_RELEASE)

    def host(self, tid: int, kind: str, lock: object) -> None:
        self.rec.on_event(FakeCall(tid), LockEvent(kind, lock))  # type: ignore[arg-type]


A, B, C, G, G2 = 0x10, 0x20, 0x30, 0x40, 0x50


def cycles_of(check: LockOrderCheck) -> list[list[int]]:
    return [[k[2] if k[0] == "guest" else k for k in c.locks] for c in check.cycles()]


def test_opposite_orders_in_two_threads_are_a_cycle_although_nothing_waited() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    ex.lock(1, A); ex.lock(1, B); ex.unlock(1, B); ex.unlock(1, A)  # noqa: E702
    ex.lock(2, B); ex.lock(2, A); ex.unlock(2, A); ex.unlock(2, B)  # noqa: E702
    assert cycles_of(check) == [[A, B]]
    (cycle,) = check.cycles()
    assert [w.tid for w in cycle.witnesses] == [1, 2]
    assert check.failed


def test_one_consistent_order_is_no_cycle() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    for tid in (1, 2):
        ex.lock(tid, A); ex.lock(tid, B); ex.unlock(tid, B); ex.unlock(tid, A)  # noqa: E702
    assert check.cycles() == []
    assert not check.failed
    assert len(check.graph.edges) == 1


def test_the_order_is_kept_across_the_executions_of_a_test() -> None:
    check = LockOrderCheck()
    first = Execution(check)
    first.lock(1, A); first.lock(1, B)  # noqa: E702
    assert not check.failed
    second = Execution(check)
    second.lock(2, B); second.lock(2, A)  # noqa: E702
    assert cycles_of(check) == [[A, B]]
    execs = [w.taken.execution for w in check.cycles()[0].witnesses]
    assert sorted(execs) == [1, 2]


def test_locks_at_the_same_address_of_different_guests_are_different_locks() -> None:
    check = LockOrderCheck()
    Execution(check, "one.wasm").lock(1, A)
    one = Execution(check, "one.wasm")
    one.lock(1, A); one.lock(1, B)  # noqa: E702
    other = Execution(check, "other.wasm")
    other.lock(1, B); other.lock(1, A)  # noqa: E702
    assert check.cycles() == []


def test_dining_philosophers_left_then_right_are_a_five_cycle() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    forks = [0x100 + 8 * i for i in range(5)]
    for who in range(5):
        left, right = forks[who], forks[(who + 1) % 5]
        ex.lock(who + 1, left); ex.lock(who + 1, right)  # noqa: E702
        ex.unlock(who + 1, right); ex.unlock(who + 1, left)  # noqa: E702
    assert cycles_of(check) == [forks]


def test_philosophers_under_one_gate_lock_are_not_reported() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    forks = [0x100 + 8 * i for i in range(5)]
    for who in range(5):
        left, right = forks[who], forks[(who + 1) % 5]
        ex.lock(who + 1, G); ex.lock(who + 1, left); ex.lock(who + 1, right); ex.unlock(who + 1, G)  # noqa: E702
        ex.unlock(who + 1, right); ex.unlock(who + 1, left)  # noqa: E702
    assert check.cycles() == []
    gates = {w.gates for ws in check.graph.edges.values() for w in ws}
    assert frozenset({("guest", "guest.wasm", G)}) in gates


def test_philosophers_with_ordered_forks_have_no_cycle() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    forks = [0x100 + 8 * i for i in range(5)]
    for who in range(5):
        first, second = sorted((forks[who], forks[(who + 1) % 5]))
        ex.lock(who + 1, first); ex.lock(who + 1, second)  # noqa: E702
        ex.unlock(who + 1, second); ex.unlock(who + 1, first)  # noqa: E702
    assert check.cycles() == []


def test_a_cycle_under_two_different_gates_is_reported() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    ex.lock(1, G); ex.lock(1, A); ex.lock(1, B)  # noqa: E702
    ex.lock(2, G2); ex.lock(2, B); ex.lock(2, A)  # noqa: E702 (needs no other thread to release: only events)
    assert cycles_of(check) == [[A, B]]


def test_an_ungated_occurrence_of_an_edge_makes_a_gated_cycle_reportable() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    for tid in (1, 2):  # both orders under the gate: not reported
        first, second = (A, B) if tid == 1 else (B, A)
        ex.lock(tid, G); ex.lock(tid, first); ex.lock(tid, second)  # noqa: E702
        ex.unlock(tid, second); ex.unlock(tid, first); ex.unlock(tid, G)  # noqa: E702
    assert check.cycles() == []
    ex.lock(3, A); ex.lock(3, B)  # noqa: E702 (A -> B again, without the gate)
    (cycle,) = check.cycles()
    assert [sorted(w.gates) for w in cycle.witnesses] in ([[], [("guest", "guest.wasm", G)]],
                                                          [[("guest", "guest.wasm", G)], []])


def test_a_trylock_never_closes_a_cycle() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    ex.lock(1, A); ex.lock(1, B); ex.unlock(1, B); ex.unlock(1, A)  # noqa: E702
    ex.lock(2, B); ex.trylock(2, A); ex.unlock(2, A); ex.unlock(2, B)  # noqa: E702
    assert check.cycles() == []


def test_a_lock_held_through_a_trylock_orders_what_comes_next() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    ex.trylock(1, A); ex.lock(1, B)  # noqa: E702
    ex.lock(2, B); ex.lock(2, A)  # noqa: E702
    assert cycles_of(check) == [[A, B]]


def test_a_failed_trylock_holds_nothing() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    ex.trylock(1, A, result=EBUSY); ex.lock(1, B)  # noqa: E702
    ex.lock(2, B); ex.lock(2, A)  # noqa: E702
    assert check.cycles() == []


def test_released_locks_are_not_held() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    ex.lock(1, A); ex.unlock(1, A); ex.lock(1, B)  # noqa: E702
    ex.lock(2, B); ex.lock(2, A)  # noqa: E702
    assert check.cycles() == []


def test_taking_a_held_lock_again_is_no_edge_and_needs_as_many_releases() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    ex.lock(1, A); ex.lock(1, A); ex.unlock(1, A); ex.lock(1, B)  # noqa: E702 (A is still held once)
    assert list(check.graph.edges) == [(("guest", "guest.wasm", A), ("guest", "guest.wasm", B))]


def test_a_lock_released_by_another_thread_is_no_longer_held() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    ex.lock(1, A); ex.unlock(2, A); ex.lock(1, B)  # noqa: E702
    assert check.graph.edges == {}


def test_a_deadlocked_acquire_still_orders_the_locks() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    call1, call2 = FakeCall(1), FakeCall(2)
    ex.lock(1, A); ex.lock(2, B)  # noqa: E702
    ex.lock_event(call1, B, 0, S_BEFORE)  # both wait forever: no AFTER event ever comes
    ex.lock_event(call2, A, 0, S_BEFORE)
    assert cycles_of(check) == [[A, B]]


def test_host_lock_events_join_the_guest_locks_graph() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    db = HostLock("db")
    ex.lock(1, A); ex.host(1, "before", db); ex.host(1, "acquired", db)  # noqa: E702
    ex.host(1, "released", db); ex.unlock(1, A)  # noqa: E702
    ex.host(2, "before", db); ex.host(2, "acquired", db); ex.lock(2, A)  # noqa: E702
    (cycle,) = check.cycles()
    assert check.graph.locks[cycle.locks[1]].description == "host lock 'db'" or \
        check.graph.locks[cycle.locks[0]].description == "host lock 'db'"
    host_taken = [t for w in cycle.witnesses for t in (w.taken, w.held) if t.via.startswith("HostLock")]
    assert host_taken and all(t.python for t in host_taken)  # the Python side of the host function
    assert any("test_host_lock_events_join" in f for t in host_taken for f in t.python)


@dataclass(frozen=True)
class ShapedLikeALockEvent:
    """Not a LockEvent, though it has a LockEvent's fields."""

    kind: str
    lock: Any
    function: str | None = None


def test_lock_events_are_tracked_but_semaphores_and_other_events_are_not() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    sem = Semaphore(name="slots")
    lock = Lock("other")
    stranger = Lock("stranger")
    for kind in ("before", "acquired"):
        ex.rec.on_event(FakeCall(1), LockEvent(kind, sem))  # type: ignore[arg-type]
        ex.rec.on_event(FakeCall(1), LockEvent(kind, lock, function="host.f"))  # type: ignore[arg-type]
        ex.rec.on_event(FakeCall(1), ShapedLikeALockEvent(kind, stranger))  # type: ignore[arg-type]
    ex.lock(1, A)
    assert [check.graph.locks[a].description for a, _ in check.graph.edges] == ["host lock 'other'"]
    ((a, b), ws), = check.graph.edges.items()
    assert ws[0].held.via == "Lock.acquire in host function host.f"


def test_a_lock_event_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown lock event kind 'taken'"):
        LockEvent("taken", Lock("x"))


def test_the_report_names_the_cycle_and_every_edge_with_its_thread_and_sites() -> None:
    check = LockOrderCheck()
    ex = Execution(check)
    ex.lock(1, A); ex.lock(1, B)  # noqa: E702
    ex.lock(2, B); ex.lock(2, A)  # noqa: E702
    text = check.report()
    assert text.startswith(f"{TITLE} (potential deadlock): cycle in lock order M1 -> M2 -> M1")
    assert "M1 = guest lock @0x10 (pthread_mutex)" in text
    assert "M2 acquired while holding M1 in thread 1" in text
    assert "M1 acquired while holding M2 in thread 2" in text
    assert text.count("previously acquired by the same thread here (pthread_mutex_lock)") == 2
    assert "at worker (@0x100)  (call site)" in text
    assert "full backtrace not available" in text  # no execution to replay here


def test_no_report_without_a_cycle() -> None:
    check = LockOrderCheck()
    Execution(check).lock(1, A)
    assert check.report() == ""


def test_a_guest_without_function_names_is_a_problem_not_a_silent_pass() -> None:
    check = LockOrderCheck()
    info = LockInstrumentation(has_names=False, digest="x")
    check.attach(FakeProgram("stripped.wasm", {check.pass_key: info}), RunSettings())  # type: ignore[arg-type]
    assert check.failed
    assert "stripped.wasm" in check.report() and "no name section" in check.report()
    assert "-g" in check.report()


def test_lock_imports_are_enough_without_names() -> None:
    info = LockInstrumentation(has_names=False, user_imports=["wasmconc.lock_acquired"])
    assert not info.finds_nothing


# -- the graph alone ---------------------------------------------------------------------------


def _w(tid: int, gates: frozenset[Any] = frozenset()) -> Witness:
    t = Taken(1, 1, tid, "f (@0x1)", "lock")
    return Witness(tid, t, t, gates)


def test_an_edge_keeps_one_witness_per_gate_set_and_none_once_it_is_ungated() -> None:
    g = LockOrderGraph()
    for k in "ab":
        g.lock(k, k)
    assert g.add_edge("a", "b", _w(1, frozenset({"g"})))
    assert not g.add_edge("a", "b", _w(2, frozenset({"g"})))
    assert g.add_edge("a", "b", _w(3, frozenset()))
    assert not g.add_edge("a", "b", _w(4, frozenset({"h"})))
    assert [w.tid for w in g.edges[("a", "b")]] == [1, 3]


def test_cycles_are_found_once_each_shortest_first() -> None:
    g = LockOrderGraph()
    for k in "abcd":
        g.lock(k, k)
    for a, b in ["ab", "bc", "ca", "cd", "da", "ba"]:
        g.add_edge(a, b, _w(1))
    found = sorted("".join(c.locks) for c in g.cycles())
    assert found == ["ab", "abc", "abcd"]
    assert len(found) == len(set(found))


@pytest.mark.parametrize("n", [2, 3, 8])
def test_a_long_ring_is_one_cycle(n: int) -> None:
    g = LockOrderGraph()
    for i in range(n):
        g.lock(i, str(i))
    for i in range(n):
        g.add_edge(i, (i + 1) % n, _w(i))
    (c,) = g.cycles()
    assert c.locks == list(range(n))
