"""Benchmark: what the installed plugin adds to a pytest session that runs no wasm test.

    python benchmarks/startup.py [--runs 21]

Runs `python -m pytest --collect-only -q` in a temporary project holding one
trivial non-wasm test, alternately with the plugin and with `-p no:wasmconc`
(so load from the rest of the machine hits both alike), after one unmeasured
warm-up run of each (bytecode caches), and prints the median wall time of each
and their difference. Target (issue 16): the difference is at most 50 ms.
Wall time of the whole process, as a user waits for it; the plugin's part of it
comes from what `pytest_wasmconc.plugin` and its always-run hooks import.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 50.0
_TEST = "def test_arithmetic():\n    assert 1 + 1 == 2\n"


def _command(with_plugin: bool) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q"]
    return cmd if with_plugin else [*cmd, "-p", "no:wasmconc"]


def _environment() -> dict[str, str]:
    # The user's own pytest and plugin settings would measure something else.
    return {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS" and not k.startswith("PYTEST_WASM_")}


def _run(project: Path, with_plugin: bool, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(_command(with_plugin), cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"startup.py: {' '.join(_command(with_plugin))} failed (exit {done.returncode}):\n"
                         f"{done.stdout}{done.stderr}")
    return elapsed


def measure(runs: int) -> tuple[float, float]:
    """Median seconds with the plugin and without it."""
    env = _environment()
    with tempfile.TemporaryDirectory(prefix="wasmconc-startup-") as tmp:
        project = Path(tmp)
        (project / "test_plain.py").write_text(_TEST, encoding="utf-8")
        _run(project, True, env)  # warm-up: bytecode caches, .pytest_cache
        _run(project, False, env)
        with_times: list[float] = []
        without_times: list[float] = []
        for i in range(runs):
            order = (True, False) if i % 2 == 0 else (False, True)
            for with_plugin in order:
                (with_times if with_plugin else without_times).append(_run(project, with_plugin, env))
    return statistics.median(with_times), statistics.median(without_times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="measured runs of each variant (default 21)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with_s, without_s = measure(args.runs)
    diff_ms = (with_s - without_s) * 1000
    print(f"pytest --collect-only -q, one non-wasm test, median of {args.runs} runs each:")
    print(f"  with the plugin:     {with_s * 1000:7.1f} ms")
    print(f"  -p no:wasmconc:      {without_s * 1000:7.1f} ms")
    print(f"  plugin's cost:       {diff_ms:7.1f} ms (target: at most {TARGET_MS:.0f} ms) "
          f"{'PASS' if diff_ms <= TARGET_MS else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
