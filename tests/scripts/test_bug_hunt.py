"""scripts/bug_hunt.py: schedules to the first failure per guest, configuration and seed, and the twins.

Most cases use stand-in guests whose outcome does not depend on the scheduler (a WAT
guest that always exits 11, one that always exits 0), so the numbers are exact whatever
the product's policies do; one case runs a real race guest with its twin at tiny limits.
Every run of the script is a subprocess (it starts `wasmconc explore` processes).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from child_processes import CHILD_LIMIT_S

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "bug_hunt.py"
ALWAYS_FAILS = REPO / "guests" / "wat" / "exit_main_procexit_worker_busy.wasm"  # proc_exit(11), every schedule
ALWAYS_PASSES = REPO / "guests" / "wat" / "single_hello.wasm"  # prints hello, exits 0


def run_script(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S, check=False)


def copy(src: Path, dest: Path) -> Path:
    shutil.copyfile(src, dest)
    return dest


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_the_json_has_schedules_to_the_first_failure_per_seed_the_median_and_each_twin(tmp_path: Path) -> None:
    buggy = copy(ALWAYS_FAILS, tmp_path / "always_fails.wasm")
    copy(ALWAYS_PASSES, tmp_path / "always_fails_fixed.wasm")
    clean = copy(ALWAYS_PASSES, tmp_path / "never_fails.wasm")  # no twin beside it
    out = tmp_path / "hunt.json"
    proc = run_script(buggy, clean, "--seeds", 3, "--schedules", 4, "--twin-schedules", 2,
                      "--configs", "default; --slice 5", "--json", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = load(out)
    assert data["seeds"] == [1, 2, 3] and data["schedules"] == 4 and data["twin_schedules"] == 2
    assert data["configs"] == ["default", "--slice 5"]
    assert "--configs 'default; --slice 5'" in data["command"]
    fails, never = data["guests"]
    assert fails["guest"] == str(buggy) and fails["twin"] == str(tmp_path / "always_fails_fixed.wasm")
    for config in data["configs"]:
        cell = fails["cells"][config]
        # 1: the first schedule (the race-directed set-up runs among the schedules, none before them).
        assert cell["schedules_to_failure"] == [1, 1, 1] and cell["found"] == 3 and cell["seeds"] == 3
        assert cell["median"] == 1 and cell["errors"] == []
        assert str(buggy) in cell["failure"] and "exited with code 11" in cell["failure"]  # the report's line
        # The twin's 2 schedules, whatever discovery did in them.
        assert fails["twin_runs"][config] == {"schedules": 2, "failed_at": None, "failure": None,
                                              "error": None}
        missed = never["cells"][config]
        assert missed["schedules_to_failure"] == [None, None, None] and missed["found"] == 0
        assert missed["median"] is None and missed["failure"] is None
    assert never["twin"] is None and never["twin_runs"] == {}
    lines = proc.stdout.splitlines()
    header = next(ln for ln in lines if ln.startswith("guest "))
    assert header.split() == ["guest", "default", "--slice", "5"]
    assert next(ln for ln in lines if ln.startswith("always_fails ")).split() == ["always_fails", "1", "(3/3)", "1",
                                                                                    "(3/3)"]
    assert next(ln for ln in lines if ln.startswith("never_fails ")).split() == ["never_fails", ">4", "(0/3)", ">4",
                                                                                  "(0/3)"]
    assert "fixed twins: each of the 1 passed every configuration (2 schedules each)" in proc.stdout
    assert "no twin: never_fails" in proc.stdout


def test_the_median_counts_a_seed_that_found_nothing_as_more_than_the_limit() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import bug_hunt
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert bug_hunt.median_to_failure([3, 1, None]) == 3
    assert bug_hunt.median_to_failure([5, None, None]) is None
    assert bug_hunt.median_to_failure([2, 4, 6, None]) == 5
    assert bug_hunt.median_to_failure([2, 4, None, None]) is None


def test_a_failing_twin_is_listed_with_its_failure_and_the_script_exits_1(tmp_path: Path) -> None:
    guest = copy(ALWAYS_PASSES, tmp_path / "lonely.wasm")
    twin = copy(ALWAYS_FAILS, tmp_path / "lonely_fixed.wasm")
    out = tmp_path / "hunt.json"
    proc = run_script(guest, "--seeds", 1, "--schedules", 2, "--twin-schedules", 3, "--configs", "default",
                      "--json", out)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "fixed twins: 1 exploration(s) failed (a false alarm or a bad twin):" in proc.stdout
    row = next(ln for ln in proc.stdout.splitlines() if ln.startswith("lonely_fixed "))
    assert row.split(None, 3)[1:3] == ["default", "FAILED"]
    assert row.split(None, 3)[3].startswith("at schedule 1: ") and str(twin) in row and "code 11" in row
    assert load(out)["guests"][0]["twin_runs"]["default"]["failed_at"] == 1  # its first schedule


def test_a_race_guest_is_hunted_and_its_fixed_twin_passes(tmp_path: Path) -> None:
    out = tmp_path / "hunt.json"
    proc = run_script(REPO / "guests" / "races" / "lost_update_pair.wasm", "--seeds", 2, "--schedules", 2,
                      "--twin-schedules", 3, "--configs", "--policy pct", "--json", out, "--markdown")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (report,) = load(out)["guests"]
    assert report["guest"] == "guests/races/lost_update_pair.wasm"
    assert report["twin"] == "guests/races/lost_update_pair_fixed.wasm"
    cell = report["cells"]["--policy pct"]
    assert cell["seeds"] == 2 and cell["errors"] == []
    assert all(v is None or 1 <= v <= 2 for v in cell["schedules_to_failure"])
    assert cell["found"] == sum(v is not None for v in cell["schedules_to_failure"])
    assert report["twin_runs"]["--policy pct"] == {"schedules": 3, "failed_at": None, "failure": None, "error": None}
    assert "| guest | --policy pct |" in proc.stdout
    assert any(ln.startswith("| lost_update_pair | ") for ln in proc.stdout.splitlines())


def test_by_default_every_race_guest_is_hunted_with_its_twin_under_todays_options() -> None:
    proc = run_script("--list")
    assert proc.returncode == 0, proc.stderr
    races = REPO / "guests" / "races"
    buggy = sorted(p.name for p in races.glob("*.wasm") if not p.stem.endswith("_fixed"))
    assert len(buggy) >= 8
    guests = [ln.split() for ln in proc.stdout.splitlines() if not ln.startswith("configuration: ")]
    assert guests == [[f"guests/races/{name}", "twin:", f"guests/races/{name[:-5]}_fixed.wasm"] for name in buggy]
    configs = [ln.removeprefix("configuration: ") for ln in proc.stdout.splitlines()
               if ln.startswith("configuration: ")]
    assert configs[0] == "default"
    for option in ("--slice", "--policy pct", "--policy rr", "--depth", "--level memory", "--level waits"):
        assert any(option in c for c in configs), option


@pytest.mark.parametrize(("args", "needle"), [
    (["--configs", "default; --seed 3"], "sets --seed, which this script chooses"),
    (["--configs", "--schedules=5"], "sets --schedules, which this script chooses"),
    (["--configs", "--turbo"], "configuration '--turbo' does not run: exit 2:"),
    (["--configs", "default; default"], "'default' is given twice"),
    (["--configs", " ; "], "no configuration given"),
    (["--seeds", "0"], "--seeds: must be at least 1, got 0"),
    (["--timeout", "0"], "--timeout must be positive"),
    (["missing.wasm"], "missing.wasm: no such file"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    guest = copy(ALWAYS_PASSES, tmp_path / "g.wasm")
    proc = run_script(*(args if args[0] == "missing.wasm" else [guest, *args]))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("bug_hunt.py: ") and needle in lines[0], lines[0]
