"""The race check's attachment to one execution: access reports in, races out.

The pass's calls (`wasmconc_races.access/access64/range`, access_pass.py)
arrive here with the calling thread; each becomes a plain read or write for
the detector, or a synchronization: an atomic access acquires or releases
its address, a thread spawn releases the start argument that the new
thread's start acquires. Host locks (`LockEvent`s through `HostCall.emit`,
runtime/userhost/sync) release and acquire the lock object.

Every report a thread makes is numbered (`seq`, per thread), so a fuel-mode
replay can stop the thread at exactly that access to take its backtrace
(probe.py); a probe recorder only counts, and traps at its target.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...runtime.hostapi import GuestTrap, HostCall, HostFunction, ValType
from ...runtime.userhost.sync import LockEvent
from .access_pass import ACCESS, ACCESS64, HOST_MODULE, RANGE, AccessSite, RaceInstrumentation, SiteKind
from .detector import Access, Detector, Race

if TYPE_CHECKING:
    from ...runtime.extensions import Rerun
    from ...runtime.loading.program import Program
    from ...runtime.outcome import Outcome
    from ...runtime.settings import RunSettings

__all__ = ["PROBE_MESSAGE", "Probe", "Recorder"]

PROBE_MESSAGE = "wasmconc: stopped here to take the backtrace of a racing access"
_READ, _WRITE, _ACQUIRE, _RELEASE, _SPAWN, _START = (
    SiteKind.READ, SiteKind.WRITE, SiteKind.ACQUIRE, SiteKind.RELEASE, SiteKind.SPAWN, SiteKind.START)


@dataclass(frozen=True)
class Probe:
    """Stop thread `tid` at its report number `seq` (it should be at `site`)."""

    tid: int
    seq: int
    site: int


class Recorder:
    """One execution's detector and the races it found (see the module docstring).

    `is_new(race)` asks the check whether a race's pair of sites was reported
    before (by this or an earlier execution); `finished` tells the check the
    execution ended. A probe recorder (`probe` given) detects nothing.
    """

    def __init__(self, pass_key: str, program: Program, settings: RunSettings, number: int, *,
                 is_new: Callable[[Race], bool] | None = None,
                 finished: Callable[[Recorder, Outcome, Rerun | None], None] | None = None,
                 probe: Probe | None = None, max_races: int = 20) -> None:
        info = program.pass_results.get(pass_key)
        self.info: RaceInstrumentation | None = info if isinstance(info, RaceInstrumentation) else None
        self.sites: list[AccessSite] = self.info.sites if self.info is not None else []
        self.program_name = program.name
        self.settings = settings
        self.number = number
        self.detector = Detector()
        self.races: list[Race] = []  # new pairs of sites, in the order found
        self.max_races = max_races
        self.probe = probe
        self.probe_result: tuple[bool, str] | None = None  # (at the expected site, what was found)
        self._is_new = is_new
        self._finished = finished
        self._seq: dict[int, int] = {}
        self._mutex = threading.Lock()  # os mode: threads report concurrently

    # -- Attachment ----------------------------------------------------------------------------

    def host_functions(self) -> Sequence[HostFunction]:
        i32, i64 = ValType.I32, ValType.I64
        return [
            HostFunction(HOST_MODULE, ACCESS, (i32, i32), (), self._access),
            HostFunction(HOST_MODULE, ACCESS64, (i64, i32), (), self._access),
            HostFunction(HOST_MODULE, RANGE, (i32, i32, i32), (), self._range),
        ]

    def on_event(self, call: HostCall, event: object) -> None:
        # A host lock orders what its releaser did before what its next acquirer does; a
        # semaphore's release (post) likewise orders the acquire (wait) that takes it.
        if not isinstance(event, LockEvent) or self.probe is not None:
            return
        key = ("host", id(event.lock))
        with self._mutex:
            if event.kind in ("acquired", "try-acquired"):
                self.detector.acquire(call.thread_id, key)
            elif event.kind == "released":
                self.detector.release(call.thread_id, key)

    def finished(self, outcome: Outcome, rerun: Rerun | None) -> None:
        if self._finished is not None:
            self._finished(self, outcome, rerun)

    # -- the guest's reports ---------------------------------------------------------------------

    def _site(self, index: int) -> AccessSite:
        if not 0 <= index < len(self.sites):
            raise GuestTrap(f"wasmconc: race check report with unknown site {index}")
        return self.sites[index]

    def _access(self, call: HostCall, addr: int, site_index: int) -> None:
        site = self._site(site_index)
        tid = call.thread_id
        with self._mutex:
            seq = self._seq[tid] = self._seq.get(tid, 0) + 1
            if self.probe is not None:
                self._at_probe(tid, seq, site_index)
                return
            kind = site.kind
            det = self.detector
            if kind == _READ:
                races = det.read(Access(tid, addr + site.offset, site.size, False, site_index, seq))
            elif kind == _WRITE:
                races = det.write(Access(tid, addr + site.offset, site.size, True, site_index, seq))
            else:
                if kind == _ACQUIRE:
                    det.acquire(tid, addr + site.offset)
                elif kind == _RELEASE:
                    det.release(tid, addr + site.offset)
                elif kind == _SPAWN:
                    det.release(tid, ("spawn", addr))
                elif kind == _START:
                    # The start argument is unique among live threads, not forever: hand the
                    # parent's clock over once.
                    det.acquire(tid, ("spawn", addr))
                    det.sync.pop(("spawn", addr), None)
                return
            if races:
                self._found(races)

    def _range(self, call: HostCall, addr: int, length: int, site_index: int) -> None:
        site = self._site(site_index)
        tid = call.thread_id
        with self._mutex:
            seq = self._seq[tid] = self._seq.get(tid, 0) + 1
            if self.probe is not None:
                self._at_probe(tid, seq, site_index)
                return
            if length == 0:
                return
            access = Access(tid, addr, length, site.kind == _WRITE, site_index, seq)
            races = self.detector.write(access) if access.write else self.detector.read(access)
            if races:
                self._found(races)

    def _found(self, races: list[Race]) -> None:
        for race in races:
            if len(self.races) >= self.max_races:
                return
            if self._is_new is None or self._is_new(race):
                self.races.append(race)

    def _at_probe(self, tid: int, seq: int, site_index: int) -> None:
        probe = self.probe
        assert probe is not None
        if tid == probe.tid and seq == probe.seq:
            self.probe_result = (site_index == probe.site, self.sites[site_index].where)
            raise GuestTrap(PROBE_MESSAGE)
