"""Render a timeline page in headless Chromium and save a screenshot.

    python scripts/timeline_screenshot.py                       # the example suite's deadlock, into examples/
    python scripts/timeline_screenshot.py PAGE.timeline.html --out shot.png [--size 1400,800]

Without a page it runs the example suite's strict-xfail deadlock test
(examples/test_hangs.py) with --wasm-trace-dir, takes the timeline page that
run wrote, and screenshots it to examples/timeline_deadlock.png (the picture
the README shows). Chromium is Debian's `chromium` package
(`apt-get install -y chromium`); it runs with no network, no sandbox (root in
a container) and a throw-away profile.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_TEST = "examples/test_hangs.py::test_two_threads_taking_two_locks_never_deadlock"
DEFAULT_OUT = REPO / "examples" / "timeline_deadlock.png"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    sys.exit("no Chromium found: apt-get install -y chromium")


def example_page(workdir: Path) -> Path:
    """Run the example's failing test with --wasm-trace-dir; the timeline page it wrote."""
    traces = workdir / "traces"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "pytest", EXAMPLE_TEST, "-p", "no:cacheprovider", "-q",
                           f"--wasm-trace-dir={traces}", "-rx"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    pages = sorted(traces.glob("*.timeline.html")) if traces.exists() else []
    if not pages:
        sys.exit(f"the example wrote no timeline page:\n{proc.stdout}\n{proc.stderr}")
    return pages[0]


def screenshot(page: Path, out: Path, size: str) -> None:
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        cmd = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={out}", f"--window-size={size}",
               page.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0 or not out.exists():
            sys.exit(f"chromium failed ({proc.returncode}):\n{proc.stderr}")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", nargs="?", type=Path, help="a .timeline.html page (default: the example's)")
    parser.add_argument("--out", type=Path, default=None, help=f"the PNG (default {DEFAULT_OUT.relative_to(REPO)})")
    parser.add_argument("--size", default="1400,800", help="window size WIDTH,HEIGHT (default 1400,800)")
    parser.add_argument("--keep-page", type=Path, default=None, help="also copy the page rendered here")
    ns = parser.parse_args()
    out = (ns.out or DEFAULT_OUT).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="timeline-") as tmp:
        page = ns.page if ns.page is not None else example_page(Path(tmp))
        if ns.keep_page is not None:
            shutil.copyfile(page, ns.keep_page)
        screenshot(page, out, ns.size)
    print(f"{out} ({out.stat().st_size} bytes) from {page.name}")


if __name__ == "__main__":
    main()
