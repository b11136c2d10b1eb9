"""The race check's recorder with its per-access work in C (`_native_c/`): no Python per shared access.

The pass's three imports become native host functions (runtime/native.py)
bound to this execution's C `Detector`, which does what `Recorder._access`
and `_range` do with detector.py's algorithm: number the thread's reports,
look up the site, check plain accesses against the shadow memory, acquire and
release on atomic accesses, order spawns. Python still handles what is rare:
host lock events (`on_event`), and the races, read once when the execution
ends and filtered through the check's dedup exactly as the Python recorder
filters them as it goes. A probe (probe.py: the replay that stops a thread
at one access to take its backtrace) numbers the reports in C as well. The
pure-Python `Recorder` stays the reference (tests/checks/races/
test_native.py compares the two).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...runtime.hostapi import HostFunction, ValType
from ...runtime.native import NATIVE_API, NativeHostFunction
from . import _native
from .access_pass import ACCESS, ACCESS64, HOST_MODULE, RANGE, AccessSite, SiteKind
from .recorder import PROBE_MESSAGE, Recorder

if TYPE_CHECKING:
    from ...runtime.extensions import Rerun
    from ...runtime.outcome import Outcome

__all__ = ["NativeRecorder", "site_table"]

_native.init(NATIVE_API["caller_thread_id"], NATIVE_API["caller_memory_size"], NATIVE_API["trap_new"])

# The C side's site kinds (races.h), in recorder.py's order.
_CODES = {SiteKind.READ: 0, SiteKind.WRITE: 1, SiteKind.ACQUIRE: 2, SiteKind.RELEASE: 3, SiteKind.SPAWN: 4,
          SiteKind.START: 5}
_SITE = struct.Struct("<B3xIQ")


def site_table(sites: Sequence[AccessSite]) -> bytes:
    """The sites as the C detector reads them: 16 bytes each (kind, size, memarg offset)."""
    return b"".join(_SITE.pack(_CODES[s.kind], s.size, s.offset) for s in sites)


class NativeRecorder(Recorder):
    """A `Recorder` whose guest reports go straight to the C detector (see the module docstring)."""

    detector: _native.Detector

    def _new_detector(self) -> _native.Detector:
        detector = _native.Detector(solo=True, concurrent=self.settings.preempt.value == "os",
                                    candidates=self.candidates)
        detector.set_sites(site_table(self.sites))
        if self.probe is not None:
            detector.set_probe(self.probe.tid, self.probe.seq, PROBE_MESSAGE)
        return detector

    @property
    def probe_result(self) -> tuple[bool, str] | None:
        self._probe_found = self.detector.probe_hit
        return super().probe_result

    def host_functions(self) -> Sequence[HostFunction]:
        i32, i64 = ValType.I32, ValType.I64
        d = self.detector
        return [
            NativeHostFunction(HOST_MODULE, ACCESS, (i32, i32), (), callback=_native.ACCESS, env=d.address, owner=d),
            NativeHostFunction(HOST_MODULE, ACCESS64, (i64, i32), (), callback=_native.ACCESS64, env=d.address,
                               owner=d),
            NativeHostFunction(HOST_MODULE, RANGE, (i32, i32, i32), (), callback=_native.RANGE, env=d.address,
                               owner=d),
        ]

    def finished(self, outcome: Outcome, rerun: Rerun | None) -> None:
        self.collect()
        super().finished(outcome, rerun)

    def collect(self) -> None:
        """Take the races the C side found so far (new pairs of sites, in order) through the check's dedup."""
        self._found(self.detector.take_races())
