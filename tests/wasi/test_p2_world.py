"""The observed streams of wasi/p2 record every operation; judging them is the observer's business."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.checks.streams import ProtocolChecker
from pytest_wasmconc.runtime import GuestTrap
from pytest_wasmconc.wasi.p2 import Event, EventObserver, StreamConfig, StreamWorld


def _write_without_permit(world: StreamWorld) -> None:
    out = world.stream("stdout")
    world.op_write(out, b"unasked", thread=1)


def test_a_world_without_an_observer_records_every_operation_and_finds_nothing() -> None:
    world = StreamWorld(StreamConfig(halt=True))
    _write_without_permit(world)
    world.op_flush(world.stream("stdout"), thread=1)
    assert [e.kind for e in world.events] == ["open", "write", "flush"]
    assert world.exit() == [] and world.findings == [] and world.violations == []
    assert world.output("stdout") == b"unasked"


@dataclass(frozen=True)
class Finding:
    what: str

    def summary(self) -> str:
        return self.what


class EveryWrite:
    """An observer of its own: flags every write."""

    def __init__(self) -> None:
        self.seen: list[Event] = []

    def observe(self, ev: Event) -> Sequence[Finding]:
        self.seen.append(ev)
        return [Finding(f"write #{ev.index}")] if ev.kind == "write" else []


def test_the_observer_sees_each_event_as_it_is_recorded_and_its_findings_are_kept() -> None:
    observer = EveryWrite()
    world = StreamWorld(observer=observer)
    _write_without_permit(world)
    assert observer.seen == world.events
    assert world.findings == [Finding("write #2")]


def test_with_halt_the_first_finding_traps_the_calling_thread_with_its_summary() -> None:
    world = StreamWorld(StreamConfig(halt=True), observer=EveryWrite())
    with pytest.raises(GuestTrap, match=r"wasmconc: stream protocol violation: write #2$"):
        _write_without_permit(world)


def test_the_protocol_checker_is_an_observer() -> None:
    checker: EventObserver = ProtocolChecker()
    world = StreamWorld(StreamConfig(halt=True), observer=checker)
    with pytest.raises(GuestTrap, match="write-without-permit at event #2 on stdout"):
        _write_without_permit(world)
    assert [v.kind for v in world.findings] == ["write-without-permit"]  # type: ignore[attr-defined]


def test_the_streams_of_wasi_import_no_check() -> None:
    code = ("import sys, pytest_wasmconc.wasi.p2\n"
            "print(sorted(m for m in sys.modules if m == 'pytest' or m.startswith(('pytest_wasmconc.checks', "
            "'pytest_wasmconc.pytest_layer', '_pytest'))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
