"""The happens-before detector on scripted event sequences (no wasm): what is a race and what is not."""

from __future__ import annotations

import pytest

from pytest_wasmconc.checks.races.detector import Access, Detector, Race, words

_site = iter(range(10_000))


def rd(d: Detector, tid: int, addr: int, size: int = 4) -> list[Race]:
    return d.read(Access(tid, addr, size, False, next(_site)))


def wr(d: Detector, tid: int, addr: int, size: int = 4) -> list[Race]:
    return d.write(Access(tid, addr, size, True, next(_site)))


def test_words_split_an_access_into_aligned_granules_with_byte_masks() -> None:
    assert list(words(0x100, 4)) == [(0x20, 0x0F)]
    assert list(words(0x104, 4)) == [(0x20, 0xF0)]
    assert list(words(0x101, 1)) == [(0x20, 0x02)]
    assert list(words(0x100, 8)) == [(0x20, 0xFF)]
    assert list(words(0x106, 4)) == [(0x20, 0xC0), (0x21, 0x03)]
    assert list(words(0x100, 16)) == [(0x20, 0xFF), (0x21, 0xFF)]


def test_unordered_write_then_read_from_two_threads_is_a_race_naming_both_accesses() -> None:
    d = Detector()
    d.fork(0, 1)
    d.fork(0, 2)
    assert wr(d, 1, 0x100) == []
    races = rd(d, 2, 0x100)
    assert len(races) == 1
    assert (races[0].previous.tid, races[0].previous.kind) == (1, "write")
    assert (races[0].current.tid, races[0].current.kind) == (2, "read")


def test_read_then_unordered_write_is_a_race() -> None:
    d = Detector()
    d.fork(0, 1)
    rd(d, 0, 0x100)
    races = wr(d, 1, 0x100)
    assert [(r.previous.kind, r.current.kind) for r in races] == [("read", "write")]


def test_two_unordered_writes_race_and_two_unordered_reads_do_not() -> None:
    d = Detector()
    d.fork(0, 1)
    assert rd(d, 0, 0x100) == [] and rd(d, 1, 0x100) == []
    assert wr(d, 0, 0x200) == []
    assert [(r.previous.kind, r.current.kind) for r in wr(d, 1, 0x200)] == [("write", "write")]


def test_program_order_never_races() -> None:
    d = Detector()
    for _ in range(3):
        assert wr(d, 0, 0x100) == [] and rd(d, 0, 0x100) == []


def test_fork_orders_the_parents_past_before_the_child_but_not_its_future() -> None:
    d = Detector()
    wr(d, 0, 0x100)
    d.fork(0, 1)
    assert rd(d, 1, 0x100) == []  # written before the spawn
    assert wr(d, 0, 0x104) == []
    assert len(rd(d, 1, 0x104)) == 1  # written after the spawn: unordered


def test_a_release_acquire_pair_orders_the_accesses_around_it() -> None:
    d = Detector()
    d.fork(0, 1)
    wr(d, 0, 0x100)
    d.release(0, "lock")
    d.acquire(1, "lock")
    assert rd(d, 1, 0x100) == [] and wr(d, 1, 0x100) == []


def test_an_acquire_before_the_release_orders_nothing() -> None:
    d = Detector()
    d.fork(0, 1)
    d.acquire(1, "lock")
    wr(d, 0, 0x100)
    d.release(0, "lock")
    assert len(rd(d, 1, 0x100)) == 1


def test_synchronizing_on_another_key_orders_nothing() -> None:
    d = Detector()
    d.fork(0, 1)
    wr(d, 0, 0x100)
    d.release(0, ("mem", 0x10))
    d.acquire(1, ("mem", 0x14))
    assert len(wr(d, 1, 0x100)) == 1


def test_happens_before_is_transitive_through_a_third_thread() -> None:
    d = Detector()
    d.fork(0, 1)
    d.fork(0, 2)
    wr(d, 1, 0x100)
    d.release(1, "a")
    d.acquire(0, "a")
    d.release(0, "b")
    d.acquire(2, "b")
    assert rd(d, 2, 0x100) == []


def test_release_joins_so_every_earlier_releaser_is_ordered_before_the_acquirer() -> None:
    d = Detector()
    d.fork(0, 1)
    d.fork(0, 2)
    d.fork(0, 3)
    wr(d, 1, 0x100)
    d.release(1, "x")
    wr(d, 2, 0x200)
    d.release(2, "x")
    d.acquire(3, "x")
    assert rd(d, 3, 0x100) == [] and rd(d, 3, 0x200) == []


def test_a_write_races_with_every_unordered_read_of_a_shared_read_vector() -> None:
    d = Detector()
    for t in (1, 2, 3):
        d.fork(0, t)
    rd(d, 1, 0x100)
    rd(d, 2, 0x100)  # unordered with thread 1's read: the reads inflate to a vector
    d.release(1, "k")
    d.acquire(3, "k")  # thread 3 is ordered after thread 1's read only
    races = wr(d, 3, 0x100)
    assert [(r.previous.tid, r.previous.kind) for r in races] == [(2, "read")]


def test_after_a_write_ordered_after_all_reads_only_the_write_is_remembered() -> None:
    d = Detector()
    d.fork(0, 1)
    d.fork(0, 2)
    rd(d, 1, 0x100)
    rd(d, 2, 0x100)
    for t in (1, 2):
        d.release(t, "k")
        d.acquire(0, "k")
    assert wr(d, 0, 0x100) == []
    d.release(0, "m")
    d.acquire(1, "m")
    assert wr(d, 1, 0x100) == []


def test_disjoint_bytes_of_one_word_do_not_race_but_an_overlapping_word_does() -> None:
    d = Detector()
    d.fork(0, 1)
    d.fork(0, 2)
    assert wr(d, 1, 0x100, 1) == []
    assert wr(d, 2, 0x101, 1) == []
    d.fork(0, 3)
    races = wr(d, 3, 0x100, 4)
    assert sorted(r.previous.tid for r in races) == [1, 2]


def test_an_unaligned_access_spanning_two_granules_races_on_either_granule() -> None:
    d = Detector()
    d.fork(0, 1)
    wr(d, 0, 0x108, 4)
    races = rd(d, 1, 0x106, 4)  # bytes 0x106..0x109
    assert [r.previous.addr for r in races] == [0x108]
    assert rd(d, 1, 0x104, 4) == []  # 0x104..0x107: never written
    wr(d, 0, 0x100, 2)
    assert len(rd(d, 1, 0x101, 4)) == 1  # 0x101..0x104 overlaps 0x100..0x101 in one granule


def test_an_eight_byte_write_races_with_a_four_byte_read_of_its_upper_half() -> None:
    d = Detector()
    d.fork(0, 1)
    wr(d, 0, 0x100, 8)
    assert len(rd(d, 1, 0x104, 4)) == 1
    assert rd(d, 1, 0x108, 4) == []


@pytest.mark.parametrize("sync", ["release-acquire", "fork"])
def test_the_clock_of_a_thread_only_moves_forward(sync: str) -> None:
    d = Detector()
    if sync == "fork":
        d.fork(0, 1)
    else:
        d.release(0, "k")
        d.acquire(1, "k")
    before = dict(d.clock(1))
    d.acquire(1, "never-released")
    assert d.clock(1) == before
    assert d.clock(0)[0] == 2  # the releaser started a new epoch


def test_a_race_found_once_is_found_again_by_the_next_unordered_access() -> None:
    d = Detector()
    d.fork(0, 1)
    wr(d, 0, 0x100)
    assert len(rd(d, 1, 0x100)) == 1
    assert len(wr(d, 1, 0x100)) == 1  # the write by thread 0 is still unordered with thread 1


def test_a_release_after_the_thread_learned_of_others_passes_that_on() -> None:
    # The release shortcut (only the thread's own entry moved) must not apply here.
    d = Detector()
    for t in (1, 2, 3):
        d.fork(0, t)
    d.release(1, "k")
    wr(d, 2, 0x100)
    d.release(2, "m")
    d.acquire(1, "m")
    d.release(1, "k")
    d.acquire(3, "k")
    assert rd(d, 3, 0x100) == []


def test_acquiring_a_key_again_sees_the_releases_made_since() -> None:
    d = Detector()
    d.fork(0, 1)
    d.fork(0, 2)
    d.release(1, "k")
    d.acquire(2, "k")
    d.acquire(2, "k")  # nothing new: skipped
    wr(d, 1, 0x100)
    assert len(rd(d, 2, 0x100)) == 1
    d.release(1, "k")
    d.acquire(2, "k")
    assert rd(d, 2, 0x108) == [] and wr(d, 2, 0x100) == []


def test_spinning_on_a_lock_word_keeps_the_clocks_exact() -> None:
    d = Detector()
    for t in range(1, 300):
        d.fork(0, t)
    for _ in range(1000):  # a spin on one lock word: the same acquire, nothing released meanwhile
        d.acquire(5, ("mem", 0x40))
    d.release(7, ("mem", 0x40))
    for _ in range(1000):
        d.acquire(5, ("mem", 0x40))
        d.release(5, ("mem", 0x80))
    assert d.clock(5)[7] == 1 and d.clock(5)[5] == 1001  # thread 7's release seen; 1000 own epochs
    assert d.sync[("mem", 0x80)][5] == 1000


def test_a_solo_thread_records_nothing_until_it_spawns_and_then_races_are_found() -> None:
    d = Detector(solo=True)
    wr(d, 0, 0x100)  # before any spawn: ordered before every later thread, not even recorded
    assert d.shadow == {} and d.accesses == 0
    d.end_solo()
    d.release(0, "spawn")
    wr(d, 0, 0x108)  # after the spawn call: unordered with the child
    d.handoff(1, "spawn")
    assert rd(d, 1, 0x100) == []
    assert len(rd(d, 1, 0x108)) == 1
