"""What `wasmconc run` of a core module loads: no instrumenter pass once the compile cache has the guest,
no WASI 0.2 host, no component model, no check it was not asked for (each was a share of its start-up,
benchmarks/README.md "Throughput (issue 20)")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUEST = REPO / "guests" / "wat" / "single_hello.wasm"
LIBC_GUEST = REPO / "guests" / "libc" / "mutex_many_threads.wasm"

# Loaded by a run only when it needs them.
NOT_ON_THE_RUN_PATH = (
    "pytest_wasmconc.instrument.pipeline", "pytest_wasmconc.instrument.atomics", "pytest_wasmconc.instrument.rewriter",
    "pytest_wasmconc.instrument.locks", "pytest_wasmconc.instrument.module", "pytest_wasmconc.instrument.locator",
    "pytest_wasmconc.wasi.p2.host", "pytest_wasmconc.wasi.p2.model", "pytest_wasmconc.runtime.components",
    "wasmtime.component", "pytest_wasmconc.checks.races", "pytest_wasmconc.checks.lock_order",
    "pytest_wasmconc.checks.streams.report", "pytest_wasmconc.schedulers.dfs_search", "importlib.metadata",
)

_CHILD = """
import json, sys
from pytest_wasmconc.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _run(tmp_path: Path, *args: str) -> dict[str, object]:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    env.pop("WASMCONC_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    last = done.stdout.strip().splitlines()[-1]
    result: dict[str, object] = json.loads(last)
    return result


def _heavy(modules: object) -> list[str]:
    assert isinstance(modules, list)
    return [m for m in modules if m.startswith(NOT_ON_THE_RUN_PATH)]


def test_a_run_from_the_compile_cache_loads_no_instrumenter_no_component_host_and_no_unasked_check(
        tmp_path: Path) -> None:
    for guest, args in ((GUEST, []), (LIBC_GUEST, ["--", "2", "3"])):
        first = _run(tmp_path, "run", str(guest), *args)  # instruments and fills the cache
        assert first["code"] == 0
        assert "pytest_wasmconc.instrument.pipeline" in first["modules"]  # type: ignore[operator]
        again = _run(tmp_path, "run", str(guest), *args)
        assert again["code"] == 0
        assert _heavy(again["modules"]) == []


def test_the_modules_left_out_still_load_when_a_run_asks_for_them(tmp_path: Path) -> None:
    # The check list of the first test can fail: a run with --check races loads the race check.
    done = _run(tmp_path, "run", "--check", "races", str(LIBC_GUEST), "--", "2", "3")
    assert done["code"] == 0
    assert "pytest_wasmconc.checks.races" in _heavy(done["modules"])
