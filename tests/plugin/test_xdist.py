"""pytest-xdist: one seed for all workers, engines per worker, a shared compile cache, sharded explorations."""

from __future__ import annotations

from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

SEED_PER_WORKER = '''
import os
import pytest

@pytest.mark.parametrize("i", range(6))
def test_seed(wasm_scheduler, wasm_engine, i, tmp_path_factory):
    out = tmp_path_factory.getbasetemp().parent / "seeds"
    out.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (out / f"{worker}-{i}").write_text(f"{wasm_scheduler.settings.seed} {id(wasm_engine)} {os.getpid()}")
'''


def read_seeds(pytester: pytest.Pytester) -> list[tuple[str, str, str, str]]:
    base = Path(pytester.path)
    found = list(base.rglob("seeds"))
    assert found, "no seeds written"
    out = []
    for f in sorted(found[0].iterdir()):
        seed, engine, pid = f.read_text().split()
        out.append((f.name.split("-")[0], seed, engine, pid))
    return out


def test_all_workers_use_the_seed_shown_in_the_header(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_seed=SEED_PER_WORKER)
    result = wasm_project.runpytest_subprocess("-n", "2", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=6)
    header = next(ln for ln in result.outlines if ln.startswith("wasmconc: "))
    seed = header.split("--wasm-seed=")[1].split()[0]
    rows = read_seeds(wasm_project)
    assert {w for w, *_ in rows} == {"gw0", "gw1"}
    assert {s for _, s, _, _ in rows} == {seed}
    # one engine per worker process
    engines = {(w, e) for w, _, e, _ in rows}
    assert len(engines) == 2


def test_auto_workers_work(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_auto='''
def test_counter(wasm_scheduler, guest):
    assert wasm_scheduler.explore(guest("mutex_counter"), schedules=5).exit_code == 0

def test_hello(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("hello")).stdout == "hello\\n"
''')
    result = wasm_project.runpytest_subprocess("-n", "auto", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=2)


def test_workers_share_one_compile_cache(wasm_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("PYTEST_WASM_CACHE_DIR", str(cache))
    wasm_project.makepyfile(test_cache='''
import pytest

@pytest.mark.parametrize("i", range(8))
def test_counter(wasm_scheduler, guest, i):
    assert wasm_scheduler.run(guest("mutex_counter")).exit_code == 0
''')
    result = wasm_project.runpytest_subprocess("-n", "2", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=8)
    entries = [p for p in cache.rglob("*.cwasm")]
    assert len(entries) == 1  # one module, one engine configuration: one entry, whoever compiled it
    assert not [p for p in cache.rglob(".tmp-*")]
    # a second session compiles nothing
    before = entries[0].stat().st_mtime_ns
    wasm_project.runpytest_subprocess("-n", "2", timeout=CHILD_LIMIT_S).assert_outcomes(passed=8)
    assert entries[0].stat().st_mtime_ns == before


SHARDED = '''
import pytest

@pytest.mark.wasm_settings(schedules=10, shards="auto")
def test_explore(wasm_scheduler, wasm_shard, guest, tmp_path_factory):
    wasm_scheduler.explore(guest("hello"))
    out = tmp_path_factory.getbasetemp().parent / "shards"
    out.mkdir(exist_ok=True)
    ran = wasm_scheduler.records[-1].schedules_run
    (out / f"{wasm_shard.index}of{wasm_shard.count}").write_text(str(ran))

@pytest.mark.wasm_settings(schedules=10, shards=4)
def test_four(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("hello"))
'''


def shard_runs(pytester: pytest.Pytester) -> dict[str, int]:
    found = list(Path(pytester.path).rglob("shards"))
    assert found
    return {f.name: int(f.read_text()) for f in found[0].iterdir()}


def test_auto_shards_split_an_exploration_into_one_item_per_worker(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_sharded=SHARDED)
    result = wasm_project.runpytest_subprocess("-n", "2", "-v", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines_random([
        "*test_sharded.py::test_explore[[]wasm-shard1of2[]]*",
        "*test_sharded.py::test_explore[[]wasm-shard2of2[]]*",
        "*test_sharded.py::test_four[[]wasm-shard4of4[]]*",
    ])
    assert shard_runs(wasm_project) == {"0of2": 5, "1of2": 5}


def test_without_xdist_auto_shards_are_one_item_running_every_schedule(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_sharded=SHARDED)
    result = wasm_project.runpytest_subprocess("-v", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*test_sharded.py::test_explore PASSED*"])
    assert shard_runs(wasm_project) == {"0of1": 10}


def test_each_shard_runs_its_own_schedules(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_sharded='''
import pytest

@pytest.mark.wasm_settings(schedules=10, shards=2)
def test_first_schedule_fails(wasm_scheduler, guest):
    assert wasm_scheduler.explore(guest("exit3")).exit_code == 0
''')
    result = wasm_project.runpytest_subprocess("-n", "2", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random([
        "*exit3.wasm: exited with code 3 (expected exit code 0) (schedule 0 failed after 1 of 5 schedules;*",
        "*exit3.wasm: exited with code 3 (expected exit code 0) (schedule 1 failed after 1 of 5 schedules;*",
    ])
