"""scripts/timeline_screenshot.py: a timeline page rendered in headless Chromium, a PNG out.

Skipped where no Chromium is installed (Debian: apt-get install -y chromium).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings
from pytest_wasmconc.runtime.timeline import write_timeline

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "timeline_screenshot.py"
PNG = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(not any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")),
                                reason="no Chromium installed")


def test_a_page_becomes_a_png_of_the_window_size(tmp_path: Path) -> None:
    outcome = Runner(RunSettings(seed=1)).run(REPO / "guests" / "c" / "mutex_counter.wasm", GuestIO(args=("5",)),
                                              timeline=True)
    assert outcome.timeline is not None
    _, page = write_timeline(outcome.timeline, tmp_path, "mutex_counter")
    out = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, str(SCRIPT), str(page), "--out", str(out), "--size", "900,500"],
                          capture_output=True, text=True, timeout=CHILD_LIMIT_S, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = out.read_bytes()
    assert data[:8] == PNG
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (900, 500)
