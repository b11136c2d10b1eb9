"""Loads with a check's pass are kept like plain ones when the pass names its configuration and code.

The race and lock-order checks' passes are functions of the bytes, their configuration (`pass_key`) and
their package's code (`pass_cache_key`): the default `wasmconc explore` (race-directed) and every test
with a check loaded and instrumented the guest again in each exploration, about half the time of a short
one. An extension that names no cache key is still instrumented at every load.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

from pytest_wasmconc.checks._sources import package_fingerprint
from pytest_wasmconc.checks.lock_order import LockOrderCheck
from pytest_wasmconc.checks.races import RaceCheck
from pytest_wasmconc.instrument import pipeline as pipeline_mod
from pytest_wasmconc.runtime import CompileCache, GuestIO, Runner, RunSettings
from pytest_wasmconc.runtime.extensions import Check, passes_cache_key
from pytest_wasmconc.runtime.loading import program as program_mod

GUEST = Path(__file__).resolve().parents[2] / "guests" / "libc" / "mutex_many_threads.wasm"


@pytest.fixture
def instrumenting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the instrumenter's runs; starts with nothing loaded in this process."""
    monkeypatch.setattr(program_mod, "_LOADED", OrderedDict())
    calls: list[int] = []
    real = pipeline_mod.instrument

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline_mod, "instrument", counted)
    return calls


@pytest.mark.parametrize("make_check", [RaceCheck, LockOrderCheck], ids=["races", "lock-order"])
def test_a_second_check_of_the_same_configuration_finds_the_program_loaded(
        tmp_path: Path, instrumenting: list[int], make_check: Any) -> None:
    runner = Runner(RunSettings(level="shared"), cache=CompileCache(tmp_path))
    first = runner.load(GUEST, extensions=[make_check()])
    again = runner.load(GUEST, extensions=[make_check()])
    assert again is first
    assert len(instrumenting) == 1


def test_another_process_reads_the_pass_result_from_disk_and_detects_the_same(
        tmp_path: Path, instrumenting: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = RunSettings(level="shared", seed=1)
    first_check = RaceCheck(count_sites=True)
    first = Runner(settings, cache=CompileCache(tmp_path)).load(GUEST, extensions=[first_check])
    monkeypatch.setattr(program_mod, "_LOADED", OrderedDict())  # as a new process starts
    again_check = RaceCheck(count_sites=True)
    again = Runner(settings, cache=CompileCache(tmp_path)).load(GUEST, extensions=[again_check])
    assert again is not first
    assert len(instrumenting) == 1
    key = first_check.pass_key
    assert again.pass_results[key] == first.pass_results[key]
    assert again.passes == first.passes and again.wasm == first.wasm
    # The checks see the same accesses in the same schedule.
    io = GuestIO(args=["2", "3"])
    outcomes = [Runner(settings, cache=CompileCache(tmp_path)).execute(p, io, settings, extensions=[c])
                for p, c in ((first, first_check), (again, again_check))]
    assert [o.decisions for o in outcomes][0] == [o.decisions for o in outcomes][1]
    assert first_check.site_hits and first_check.site_hits == again_check.site_hits


def test_other_configurations_and_edited_check_code_use_other_entries(
        tmp_path: Path, instrumenting: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    runner = Runner(RunSettings(level="shared"), cache=CompileCache(tmp_path))
    runner.load(GUEST, extensions=[RaceCheck()])
    runner.load(GUEST, extensions=[RaceCheck(suppress=["add_rounds"])])
    assert len(instrumenting) == 2
    edited = RaceCheck()
    edited.pass_cache_key = edited.pass_key + ":an edited check"
    monkeypatch.setattr(program_mod, "_LOADED", OrderedDict())
    runner.load(GUEST, extensions=[edited])
    assert len(instrumenting) == 3
    assert len(list(tmp_path.rglob("*.program"))) == 3


class _Unnamed(Check):
    """A user's check with a pass and no cache key: it may keep state of its own."""

    pass_key = "unnamed"

    def __init__(self) -> None:
        self.runs = 0

    def instrument(self, rw: Any, names: dict[int, str]) -> int:
        self.runs += 1
        return self.runs


def test_a_pass_without_a_cache_key_runs_at_every_load(tmp_path: Path, instrumenting: list[int]) -> None:
    runner = Runner(RunSettings(level="shared"), cache=CompileCache(tmp_path))
    check = _Unnamed()
    runner.load(GUEST, extensions=[check])
    runner.load(GUEST, extensions=[check])
    assert check.runs == 2 and len(instrumenting) == 2
    assert passes_cache_key([check]) is None
    assert passes_cache_key([check, RaceCheck()]) is None
    assert not list(tmp_path.rglob("*.program"))


def test_the_code_fingerprint_changes_with_any_source_of_the_package(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "check.py").write_text("A = 1\n")
    (pkg / "helper.py").write_text("B = 1\n")
    before = package_fingerprint.__wrapped__(str(pkg / "check.py"))
    (pkg / "helper.py").write_text("B = 2\n")
    assert package_fingerprint.__wrapped__(str(pkg / "check.py")) != before
