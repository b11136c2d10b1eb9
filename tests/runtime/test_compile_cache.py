"""The compile cache: one compile per (bytes, wasmtime version, engine settings), safe across processes."""

from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import wasmtime

from child_processes import CHILD_LIMIT_S
from pytest_wasmconc.runtime import CompileCache, EngineSettings, GuestIO, Program, Runner, RunSettings, engine_for
from pytest_wasmconc.instrument import module as module_mod
from pytest_wasmconc.instrument import pipeline as pipeline_mod
from pytest_wasmconc.runtime.loading import program as program_mod
from pytest_wasmconc.runtime.loading import saved

WAT = '(module (func (export "f") (result i32) i32.const 42))'


def test_second_compile_of_the_same_bytes_is_a_hit(tmp_path: Path) -> None:
    wasm = wasmtime.wat2wasm(WAT)
    settings = EngineSettings()
    engine = engine_for(settings)
    first = CompileCache(tmp_path)
    first.compile(engine, settings, wasm)
    assert (first.hits, first.misses) == (0, 1)
    fresh = CompileCache(tmp_path)  # a new process would start like this
    fresh.compile(engine, settings, wasm)
    assert (fresh.hits, fresh.misses) == (1, 0)


def test_other_engine_settings_use_another_entry(tmp_path: Path) -> None:
    wasm = wasmtime.wat2wasm(WAT)
    cache = CompileCache(tmp_path)
    a, b = EngineSettings(fuel=True), EngineSettings(fuel=False, epochs=True)
    assert cache.key(wasm, a) != cache.key(wasm, b)
    cache.compile(engine_for(a), a, wasm)
    cache.compile(engine_for(b), b, wasm)
    assert cache.misses == 2


def test_a_corrupt_entry_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    wasm = wasmtime.wat2wasm(WAT)
    settings = EngineSettings()
    cache = CompileCache(tmp_path)
    cache.compile(engine_for(settings), settings, wasm)
    entry = next(tmp_path.rglob("*.cwasm"))
    entry.write_bytes(b"garbage")
    again = CompileCache(tmp_path)
    module = again.compile(engine_for(settings), settings, wasm)
    assert again.misses == 1
    store = wasmtime.Store(engine_for(settings))
    assert wasmtime.Instance(store, module, []).exports(store)["f"](store) == 42


def test_concurrent_processes_fill_the_cache_without_corrupting_it(tmp_path: Path) -> None:
    script = (
        "import sys, wasmtime\n"
        "from pathlib import Path\n"
        "from pytest_wasmconc.runtime import CompileCache, EngineSettings, engine_for\n"
        f"wasm = wasmtime.wat2wasm({WAT!r})\n"
        "s = EngineSettings()\n"
        "for i in range(20):\n"
        "    CompileCache(Path(sys.argv[1])).compile(engine_for(s), s, wasm)\n"
        "print('ok')\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    assert all(p.communicate(timeout=CHILD_LIMIT_S)[0].strip() == "ok" for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert len(list(tmp_path.rglob("*.cwasm"))) == 1
    assert not list(tmp_path.rglob(".tmp-*"))


# -- instrumented programs kept beside the compiled modules (runtime/loading/saved.py) ------------------

GUEST = Path(__file__).resolve().parents[2] / "guests" / "libc" / "mutex_many_threads.wasm"


def _fresh_process_load(cache_dir: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> Program:
    """Load GUEST as a new process would: nothing loaded in memory, the cache directory as left."""
    monkeypatch.setattr(program_mod, "_LOADED", OrderedDict())
    return Runner(RunSettings(**kwargs), cache=CompileCache(cache_dir)).load(GUEST)  # type: ignore[arg-type]


def _forbid_instrumenting(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("instrumented or parsed again on a cache hit")

    # The loader imports both where a first load needs them (program.py): refused at their homes.
    monkeypatch.setattr(pipeline_mod, "instrument", refuse)
    monkeypatch.setattr(module_mod, "parse_module", refuse)


def test_a_later_process_loads_without_instrumenting_and_runs_the_same(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    first = _fresh_process_load(tmp_path, monkeypatch, seed=3)
    assert list(tmp_path.rglob("*.program"))
    with monkeypatch.context() as loading:  # the load only: a report's positions parse the module (locator.py)
        _forbid_instrumenting(loading)
        again = _fresh_process_load(tmp_path, loading, seed=3)
    assert again is not first
    for name in saved.FIELDS + ("name", "engine_settings", "source_wasm", "passes"):
        if name != "offsets":
            assert getattr(again, name) == getattr(first, name), name
    # Reports print the file's offsets on a hit too (the map back to them is kept).
    assert (list(again.offsets.new), list(again.offsets.orig)) == (list(first.offsets.new), list(first.offsets.orig))
    assert len(first.offsets.new) > 1
    for at in list(first.offsets.new)[::max(1, len(first.offsets.new) // 50)]:
        assert again.position_text(at) == first.position_text(at)
    runner = Runner(RunSettings(seed=3), cache=CompileCache(tmp_path))
    io = GuestIO(args=["3", "20"])
    a, b = (runner.execute(p, io, runner.settings) for p in (first, again))
    assert (a.status, a.exit_code, a.stdout, a.decisions, a.slices, a.steps) == \
        (b.status, b.exit_code, b.stdout, b.decisions, b.slices, b.steps)
    assert a.token == b.token


def test_other_levels_hot_sites_and_instrumenters_use_other_entries(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_process_load(tmp_path, monkeypatch)
    _fresh_process_load(tmp_path, monkeypatch, level="atomics")
    _fresh_process_load(tmp_path, monkeypatch, hot_sites=(1234,))
    assert len(list(tmp_path.rglob("*.program"))) == 3
    monkeypatch.setattr(saved, "_instrumenter_fingerprint", lambda: b"an edited instrumenter")
    _fresh_process_load(tmp_path, monkeypatch)
    assert len(list(tmp_path.rglob("*.program"))) == 4


def test_a_damaged_program_entry_is_a_miss_and_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _fresh_process_load(tmp_path, monkeypatch)
    entry = next(tmp_path.rglob("*.program"))
    entry.write_bytes(b"not a pickle")
    again = _fresh_process_load(tmp_path, monkeypatch)
    assert again.wasm == first.wasm and again.sites == first.sites
    assert entry.read_bytes() != b"not a pickle"


def test_a_disabled_cache_keeps_no_programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(program_mod, "_LOADED", OrderedDict())
    Runner(cache=CompileCache(tmp_path, enabled=False)).load(GUEST)
    assert not list(tmp_path.rglob("*"))
