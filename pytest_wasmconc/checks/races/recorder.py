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
from typing import TYPE_CHECKING, Any

from ...runtime.hostapi import GuestTrap, HostCall, HostFunction, ValType
from ...runtime.userhost.sync import LockEvent
from .access_pass import ACCESS, ACCESS64, HOST_MODULE, RANGE, AccessSite, RaceInstrumentation, SiteKind
from .detector import Detector, Race, race_of

if TYPE_CHECKING:
    from ._native import Detector as NativeDetector
    from ...runtime.extensions import Rerun
    from ...instrument.locator import Locator
    from ...runtime.loading.program import Program
    from ...runtime.outcome import Outcome
    from ...runtime.settings import RunSettings

__all__ = ["PROBE_MESSAGE", "Probe", "Recorder"]

PROBE_MESSAGE = "wasmconc: stopped here to take the backtrace of a racing access"
_READ, _WRITE, _ACQUIRE, _RELEASE, _SPAWN, _START = (
    SiteKind.READ, SiteKind.WRITE, SiteKind.ACQUIRE, SiteKind.RELEASE, SiteKind.SPAWN, SiteKind.START)
_READ_CODE, _WRITE_CODE, _ACQUIRE_CODE, _RELEASE_CODE, _SPAWN_CODE, _START_CODE = range(6)


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
                 probe: Probe | None = None, max_races: int = 20, candidates: bool = False) -> None:
        info = program.pass_results.get(pass_key)
        self.info: RaceInstrumentation | None = info if isinstance(info, RaceInstrumentation) else None
        self.sites: list[AccessSite] = self.info.sites if self.info is not None else []
        self.program_name = program.name
        # How reports print the sites (the file's offsets, source lines); a stand-in program may have none.
        self.locator: Locator | None = getattr(program, "locator", None)
        self.settings = settings
        self.number = number
        self.races: list[Race] = []  # new pairs of sites, in the order found
        self.max_races = max_races
        self.probe = probe
        self._probe_found: int | None = None  # the site the probe stopped at
        self.candidates = candidates and probe is None  # detector.py's candidates (race direction's discovery)
        self.detector: Detector | NativeDetector = self._new_detector()
        self._is_new = is_new
        self._finished = finished
        self._seq: dict[int, int] = {}
        codes = {_READ: _READ_CODE, _WRITE: _WRITE_CODE, _ACQUIRE: _ACQUIRE_CODE, _RELEASE: _RELEASE_CODE,
                 _SPAWN: _SPAWN_CODE, _START: _START_CODE}
        self._codes = [(codes[s.kind], s.offset, s.size) for s in self.sites]  # by site: what _access needs
        self._mutex = threading.Lock()  # os mode: threads report concurrently

    def _new_detector(self) -> Detector | NativeDetector:
        return Detector(solo=True, candidates=self.candidates)  # one thread until the first spawn

    @property
    def probe_result(self) -> tuple[bool, str] | None:
        """A probe's finding: (it stopped at the expected site, where it stopped); None: it never stopped."""
        found = self._probe_found
        if self.probe is None or found is None:
            return None
        return (found == self.probe.site, self.sites[found].where)

    # -- Attachment ----------------------------------------------------------------------------

    def host_functions(self) -> Sequence[HostFunction]:
        i32, i64 = ValType.I32, ValType.I64
        # Serial modes run one guest thread at a time: only os mode pays for the lock.
        access = self._access_locked if self.settings.preempt.value == "os" else self._access
        return [
            HostFunction(HOST_MODULE, ACCESS, (i32, i32), (), access),
            HostFunction(HOST_MODULE, ACCESS64, (i64, i32), (), access),
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

    def _access_locked(self, call: HostCall, addr: int, site_index: int) -> None:
        with self._mutex:
            self._access(call, addr, site_index)

    def _access(self, call: HostCall, addr: int, site_index: int) -> None:
        # The hot path: one call per shared access of the guest.
        try:
            code, offset, size = self._codes[site_index]
        except IndexError:
            raise GuestTrap(f"wasmconc: race check report with unknown site {site_index}") from None
        tid = call.thread_id
        seq = self._seq[tid] = self._seq.get(tid, 0) + 1
        if self.probe is not None:
            self._at_probe(tid, seq, site_index)
        elif code <= _WRITE_CODE:
            races = self.detector.check(tid, addr + offset, size, code == _WRITE_CODE, site_index, seq)
            if races:
                self._found(races)
        elif code == _ACQUIRE_CODE:
            self.detector.acquire(tid, addr + offset)
        elif code == _RELEASE_CODE:
            self.detector.release(tid, addr + offset)
        elif code == _SPAWN_CODE:
            self.detector.end_solo()
            self.detector.release(tid, ("spawn", addr))
        else:
            # The start argument is unique among live threads, not forever: hand the
            # parent's clock over once. (A thread started by a spawn the pass did not see,
            # through a function pointer, still ends the one-thread phase.)
            self.detector.end_solo()
            self.detector.handoff(tid, ("spawn", addr))

    def _range(self, call: HostCall, addr: int, length: int, site_index: int) -> None:
        site = self._site(site_index)
        tid = call.thread_id
        with self._mutex:
            seq = self._seq[tid] = self._seq.get(tid, 0) + 1
            if self.probe is not None:
                self._at_probe(tid, seq, site_index)
                return
            if length == 0 or addr + length > call.memory.size():
                return  # nothing accessed, or the instruction traps before touching any byte
            races = self.detector.check(tid, addr, length, site.kind == _WRITE, site_index, seq)
            if races:
                self._found(races)

    def _found(self, found: list[tuple[Any, Any]]) -> None:
        for previous, current in found:
            if len(self.races) >= self.max_races:
                return
            race = race_of(previous, current)
            if self._is_new is None or self._is_new(race):
                self.races.append(race)

    def _at_probe(self, tid: int, seq: int, site_index: int) -> None:
        probe = self.probe
        assert probe is not None
        if tid == probe.tid and seq == probe.seq:
            self._probe_found = site_index
            raise GuestTrap(PROBE_MESSAGE)
