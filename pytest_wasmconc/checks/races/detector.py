"""The happens-before race detector: vector clocks with FastTrack's epochs, free of wasm.

A data race is two accesses to overlapping bytes, at least one a write, from
different threads, that happens-before does not order. Happens-before is
program order plus the synchronization edges the caller reports:
`release(t, key)` then `acquire(u, key)` orders everything `t` did before the
release before everything `u` does after the acquire (a lock, an atomic
location, a thread spawn, a semaphore: the caller picks the key).

Each thread has a vector clock `C_t` (thread -> clock); an *epoch* `c@t` is
one entry of it, the moment of one access. FastTrack (Flanagan & Freund,
PLDI 2009) stores the last write of a location as one epoch and its reads as
one epoch while they are totally ordered, inflating to a read vector only when
two unordered reads share a location; comparing an epoch with a clock is one
lookup, so the common case costs O(1) instead of O(threads).

Shadow memory: per aligned 8-byte granule (a 16-byte access spans two), a
small map from the byte mask an access covered to its state, so accesses of
different sizes are compared byte-exactly (two threads writing neighbouring
bytes of one word do not race) while the common case, every access to a
location of one size, keeps a single entry. An access checks
every entry whose mask overlaps its own and updates the entry of its own
mask; stale entries of other masks stay, which can only report races that
really are there (two unordered conflicting accesses, whatever came between).

Release joins the thread's clock into the key's (`L |= C_t`) rather than
replacing it: the over-approximation of C11's release sequences that
ThreadSanitizer also made for a long time; it can hide a race, never invent one.

Candidates (`candidates=True`, race direction's discovery only: never a
report). A race shows only in an execution where both accesses run unordered,
and libc's own locks order many in a given schedule: a thread that exited
before its creator made the next one is ordered before that one through the
thread list's lock. So the detector also keeps, per thread, a second clock
made of thread creation alone (what the thread's creators, and theirs, had
done when they created it), and notes each pair of conflicting accesses of
two threads that this clock does not order: the later thread was not created
after the earlier access. Such a pair may be a race in another schedule, or
be ordered there too by a lock, a join or an atomic flag of the program; race
direction makes such accesses preemption points when no race showed
(directed.py), which costs only steering, never a report.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Access", "Detector", "Race", "race_of", "words"]

_TID_BITS = 30  # wasi-threads ids are below 2**29 (runtime MAX_TID)
_TID_MASK = (1 << _TID_BITS) - 1
_ADDRESS_END = 1 << 64
_WORD = 8  # shadow granule: an aligned 8-byte double or i64 is one granule, like TSan's


@dataclass(frozen=True, slots=True)
class Access:
    """One memory access, as a report names it.

    `tid` the thread, `addr`/`size` the bytes, `write` its kind, `site` the
    caller's identification of the instruction, `seq` the thread's own count
    of accesses so far (a replay can stop the thread at exactly this one).
    """

    tid: int
    addr: int
    size: int
    write: bool
    site: int
    seq: int = 0

    @property
    def kind(self) -> str:
        return "write" if self.write else "read"


@dataclass(frozen=True, slots=True)
class Race:
    """Two unordered conflicting accesses: `previous` happened first in this execution."""

    previous: Access
    current: Access


_Info = tuple[int, int, int, bool, int, int]  # an Access as a plain tuple: made for every access, so cheap


class _Entry:
    """The shadow state of the bytes one mask covers within one word (accesses kept as `_Info` tuples)."""

    __slots__ = ("r", "r_info", "reads", "w", "w_info")

    def __init__(self, w: int, w_info: _Info | None, r: int, r_info: _Info | None) -> None:
        self.w = w  # the last write's epoch (0: none)
        self.w_info = w_info
        self.r = r  # the last read's epoch while reads are ordered (0: none)
        self.r_info = r_info
        self.reads: dict[int, tuple[int, _Info]] | None = None  # tid -> (clock, access), once shared


def words(addr: int, size: int) -> Iterator[tuple[int, int]]:
    """(granule index, byte mask within it) of every 8-byte granule the bytes [addr, addr+size) touch."""
    end = addr + size
    while addr < end:
        word = addr // _WORD
        lo = addr - word * _WORD
        hi = min(end - word * _WORD, _WORD)
        yield word, ((1 << hi) - 1) & ~((1 << lo) - 1)
        addr = (word + 1) * _WORD


class Detector:
    """Happens-before over threads, sync keys and shadow memory (see the module docstring)."""

    def __init__(self, *, solo: bool = False, candidates: bool = False) -> None:
        # `solo`: the program has one thread until `end_solo()` (its first spawn). What that
        # thread does until then happens before everything any later thread does (through
        # the spawn), so it can never race and is not even recorded: wasi-libc's start-up
        # fills all of .bss with memory.fill, a shadow entry per granule of it otherwise.
        self.solo = solo
        self.clocks: dict[int, dict[int, int]] = {}
        self.sync: dict[Hashable, dict[int, int]] = {}
        self.shadow: dict[int, dict[int, _Entry]] = {}
        self.accesses = 0  # plain accesses checked
        self._site_hits: dict[int, int] = {}  # site -> its plain accesses checked
        self.sync_ops = 0
        # Vector clocks cost O(threads) to join, and a guest that made 800 threads spins on
        # lock words thousands of times: these let a join that cannot change anything be skipped.
        self._version: dict[Hashable, int] = {}  # key -> releases into it so far
        self._seen: dict[tuple[int, Hashable], int] = {}  # (tid, key) -> the version it last acquired
        self._raised: dict[int, int] = {}  # tid -> how often an acquire raised its clock
        # key -> {tid: its _raised at its last full join}; forgotten with the key (handoff), since
        # a key made again from another thread's clock holds nothing of the earlier joins
        self._joined: dict[Hashable, dict[int, int]] = {}
        # Candidates (module docstring): each thread's creation clock, the clocks spawns and forks
        # sent and their threads have not taken yet, and the (earlier site, later site) pairs noted.
        self.candidates = candidates
        self._created: dict[int, dict[int, int]] = {}
        self._creating: dict[Hashable, dict[int, int]] = {}
        self._candidates: dict[tuple[int, int], None] = {}  # insertion-ordered, as the C detector's

    # -- threads and synchronization ---------------------------------------------------------

    def clock(self, tid: int) -> dict[int, int]:
        """Thread `tid`'s vector clock (a new thread starts at 1@tid, ordered after nothing)."""
        vc = self.clocks.get(tid)
        if vc is None:
            vc = self.clocks[tid] = {tid: 1}
        return vc

    def acquire(self, tid: int, key: Hashable) -> None:
        """`tid` synchronizes with every release of `key` so far."""
        self.sync_ops += 1
        released = self.sync.get(key)
        if released is None:
            return
        version = self._version[key]
        if self._seen.get((tid, key)) == version:
            return  # nothing released into the key since this thread last acquired it
        self._seen[(tid, key)] = version
        vc = self.clock(tid)
        raised = False
        for t, c in released.items():
            if vc.get(t, 0) < c:
                vc[t] = c
                raised = True
        if raised:
            self._raised[tid] = self._raised.get(tid, 0) + 1

    def release(self, tid: int, key: Hashable) -> None:
        """What `tid` did so far happens before whoever acquires `key` next; `tid` starts a new epoch."""
        self.sync_ops += 1
        vc = self.clock(tid)
        if self.candidates and _creates(key):
            sent = dict(self._created.get(tid, ()))
            sent[tid] = vc[tid]
            self._creating[key] = sent
        released = self.sync.get(key)
        raised = self._raised.get(tid, 0)
        joined = self._joined.get(key)
        if joined is None:
            joined = self._joined[key] = {}
        if released is None:
            self.sync[key] = dict(vc)
        elif joined.get(tid) == raised:
            # Since this thread's last full join into the key only its own entry moved
            # (no acquire raised its clock): the join is that one entry.
            if released.get(tid, 0) < vc[tid]:
                released[tid] = vc[tid]
        else:
            for t, c in vc.items():
                if released.get(t, 0) < c:
                    released[t] = c
        joined[tid] = raised
        self._version[key] = self._version.get(key, 0) + 1
        vc[tid] += 1

    def end_solo(self) -> None:
        """The sole thread is about to spawn another: from now on accesses are recorded."""
        self.solo = False

    def handoff(self, tid: int, key: Hashable) -> None:
        """Acquire `key` and forget it: a one-time edge (a spawn to the thread it started)."""
        self.acquire(tid, key)
        sent = self._creating.pop(key, None)
        if sent is not None:
            created = self._created.setdefault(tid, {})
            for t, c in sent.items():
                if created.get(t, 0) < c:
                    created[t] = c
        self.sync.pop(key, None)
        self._joined.pop(key, None)

    def fork(self, parent: int, child: int) -> None:
        """Everything `parent` did so far happens before everything `child` does."""
        key = ("fork", parent, child)
        self.release(parent, key)
        self.handoff(child, key)

    # -- memory --------------------------------------------------------------------------------

    def read(self, access: Access) -> list[Race]:
        """Check a plain read against the writes it overlaps; returns the races it completes."""
        return self._races(self.check(access.tid, access.addr, access.size, False, access.site, access.seq))

    def write(self, access: Access) -> list[Race]:
        """Check a plain write against the reads and writes it overlaps; returns the races it completes."""
        return self._races(self.check(access.tid, access.addr, access.size, True, access.site, access.seq))

    def check(self, tid: int, addr: int, size: int, write: bool, site: int,
              seq: int) -> list[tuple[_Info, _Info]] | None:
        """The hot path of `read`/`write`: the races as (previous, current) tuples, None when there is none.

        Not recorded: accesses while the program has one thread, of no bytes, or of bytes past
        2**64 (such an access traps).
        """
        if self.solo or size <= 0 or addr + size > _ADDRESS_END:
            return None
        self.accesses += 1
        self._site_hits[site] = self._site_hits.get(site, 0) + 1
        vc = self.clocks.get(tid)
        if vc is None:
            vc = self.clock(tid)
        now = vc[tid]
        epoch = now << _TID_BITS | tid
        info = (tid, addr, size, write, site, seq)
        lo = addr & (_WORD - 1)
        if lo + size <= _WORD and not self.candidates:  # within one granule: almost every access
            mask = ((1 << size) - 1) << lo
            cell = self.shadow.get(addr >> 3)
            if cell is not None and len(cell) == 1:
                mine = cell.get(mask)
                if mine is not None and not write and mine.reads is None:
                    # The hottest case, inlined: a read of a location only ever accessed whole.
                    r = mine.r
                    if r == epoch:
                        return None
                    w = mine.w
                    if w and w >> _TID_BITS > vc.get(w & _TID_MASK, 0):
                        return self._word(addr >> 3, mask, vc, tid, now, epoch, info, write)
                    if not r or r >> _TID_BITS <= vc.get(r & _TID_MASK, 0):
                        mine.r, mine.r_info = epoch, info
                        return None
            return self._word(addr >> 3, mask, vc, tid, now, epoch, info, write)
        races = None
        for word, mask in words(addr, size):
            found = self._word(word, mask, vc, tid, now, epoch, info, write)
            if found:
                races = found if races is None else races + found
        return races

    def _word(self, word: int, mask: int, vc: dict[int, int], tid: int, now: int, epoch: int, info: _Info,
              write: bool) -> list[tuple[_Info, _Info]] | None:
        cell = self.shadow.get(word)
        if cell is None:
            self.shadow[word] = {mask: _Entry(epoch, info, 0, None) if write else _Entry(0, None, epoch, info)}
            return None
        mine = cell.get(mask)
        if mine is not None and (mine.w if write else mine.r) == epoch:
            return None  # done already in this epoch: checked then, nothing new since in this thread
        if self.candidates:
            self._note_candidates(cell, mask, tid, info, write)
        races: list[tuple[_Info, _Info]] | None = None
        for m, e in cell.items():
            if not m & mask:
                continue
            w = e.w
            if w and w >> _TID_BITS > vc.get(w & _TID_MASK, 0) and e.w_info is not None:
                races = [(e.w_info, info)] if races is None else races + [(e.w_info, info)]
            if not write:
                continue
            if e.reads is not None:
                for t, (c, prev) in e.reads.items():
                    if c > vc.get(t, 0) and t != tid:
                        races = [(prev, info)] if races is None else races + [(prev, info)]
            else:
                r = e.r
                if r and r >> _TID_BITS > vc.get(r & _TID_MASK, 0) and e.r_info is not None:
                    races = [(e.r_info, info)] if races is None else races + [(e.r_info, info)]
        if mine is None:
            cell[mask] = _Entry(epoch, info, 0, None) if write else _Entry(0, None, epoch, info)
        elif write:
            mine.w, mine.w_info = epoch, info
            # Every read of this mask was just checked against this write: later accesses
            # need only this write (FastTrack's rule for a shared read vector).
            mine.reads = None
            mine.r, mine.r_info = 0, None
        elif mine.reads is not None:
            mine.reads[tid] = (now, info)
        elif not mine.r or _ordered(mine.r, vc):
            mine.r, mine.r_info = epoch, info
        else:
            assert mine.r_info is not None
            mine.reads = {mine.r & _TID_MASK: (mine.r >> _TID_BITS, mine.r_info), tid: (now, info)}
            mine.r, mine.r_info = 0, None
        return races

    def _note_candidates(self, cell: dict[int, _Entry], mask: int, tid: int, info: _Info, write: bool) -> None:
        """Note the pairs this access makes with the overlapping earlier ones of threads whose accesses
        its creation does not order (module docstring, "Candidates")."""
        created = self._created.get(tid, {})
        for m, e in cell.items():
            if not m & mask:
                continue
            earlier: list[tuple[int, _Info]] = []
            if e.w and e.w_info is not None:
                earlier.append((e.w, e.w_info))
            if write:
                if e.reads is not None:
                    earlier += [(c << _TID_BITS | t, prev) for t, (c, prev) in e.reads.items()]
                elif e.r and e.r_info is not None:
                    earlier.append((e.r, e.r_info))
            for epoch, prev in earlier:
                t = epoch & _TID_MASK
                if t != tid and epoch >> _TID_BITS > created.get(t, 0):
                    self._candidates[(prev[4], info[4])] = None

    @staticmethod
    def _races(found: list[tuple[_Info, _Info]] | None) -> list[Race]:
        return [race_of(prev, cur) for prev, cur in found] if found else []

    def site_hits(self) -> dict[int, int]:
        """{site: plain accesses checked} for every site with any (race direction sizes PCT's k by them)."""
        return dict(self._site_hits)

    def candidate_pairs(self) -> list[tuple[int, int]]:
        """The (earlier site, later site) pairs of candidates noted so far, each once, in order."""
        return list(self._candidates)

    def stats(self) -> dict[str, Any]:
        return {"threads": len(self.clocks), "sync_keys": len(self.sync), "shadow_words": len(self.shadow),
                "accesses": self.accesses, "sync_ops": self.sync_ops}


def race_of(previous: _Info, current: _Info) -> Race:
    """A race from the detector's tuples."""
    return Race(Access(*previous), Access(*current))


def _creates(key: Hashable) -> bool:
    """Whether a release into `key` creates a thread (a spawn's start argument, a fork)."""
    return isinstance(key, tuple) and key[0] in ("spawn", "fork")


def _ordered(epoch: int, vc: dict[int, int]) -> bool:
    """Whether the access at `epoch` happens before the present of the thread whose clock is `vc`."""
    return epoch >> _TID_BITS <= vc.get(epoch & _TID_MASK, 0)
