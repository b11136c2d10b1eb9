"""The examples/ suite, run the way its README says, passes under every mode, with and without xdist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "args",
    [[], ["--wasm-preempt=epoch"], ["--wasm-preempt=os"], ["-n", "2"], ["--wasm-preempt=os", "-n", "2"]],
    ids=["fuel", "epoch", "os", "fuel-n2", "os-n2"],
)
def test_the_examples_pass(args: list[str], tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "pytest", "examples", "-p", "no:cacheprovider", f"--basetemp={tmp_path}", *args]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=CHILD_LIMIT_S, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed, 3 xfailed in ", last) and not re.search(r"\d+ (failed|errors?)\b", last), last
