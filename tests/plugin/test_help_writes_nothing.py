"""Asking for help writes nothing: `pytest --help` with the plugin and `wasmconc --help` leave cwd and HOME as
they were, and pytest's describing options leave the last session's crash log where it is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

# pytest-benchmark, where installed, makes .benchmarks/ when configured: not ours to judge.
OTHER_WRITERS = ["-p", "no:benchmark"]


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _run(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, check=False, capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S)


@pytest.mark.parametrize("args", [
    ["-m", "pytest", *OTHER_WRITERS, "--help"],
    ["-m", "pytest", *OTHER_WRITERS, "--markers"],
    ["-m", "pytest", *OTHER_WRITERS, "--version"],
    ["-m", "pytest_wasmconc", "--help"],
    ["-m", "pytest_wasmconc", "run", "--help"],
    ["-m", "pytest_wasmconc", "--version"],
], ids=["pytest-help", "pytest-markers", "pytest-version", "wasmconc-help", "wasmconc-run-help",
        "wasmconc-version"])
def test_help_writes_nothing_in_cwd_or_home(tmp_path: Path, args: list[str]) -> None:
    cwd, home = tmp_path / "project", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    proc = _run(cwd, home, *args)
    assert proc.returncode == 0, proc.stderr
    if "--help" in args and "pytest" in args:
        assert "wasmconc" in proc.stdout  # the plugin was loaded and described itself
    assert _tree(cwd) == [] and _tree(home) == []


def test_pytest_fixtures_leaves_the_last_sessions_crash_log_in_place(tmp_path: Path) -> None:
    cwd, home = tmp_path / "project", tmp_path / "home"
    log_dir = cwd / ".pytest_cache" / "d" / "wasmconc"
    log_dir.mkdir(parents=True)
    home.mkdir()
    (log_dir / "crash-main.txt").write_text("state: in-flight\n")
    proc = _run(cwd, home, "-m", "pytest", *OTHER_WRITERS, "--fixtures")
    assert proc.returncode in (0, 5), proc.stderr  # 5: no tests here, only fixtures to list
    assert "wasm_scheduler" in proc.stdout
    assert (log_dir / "crash-main.txt").read_text() == "state: in-flight\n"
    assert not (log_dir / "previous").exists()
