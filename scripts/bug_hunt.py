"""How fast each scheduling configuration of `wasmconc explore` finds each known bug.

    python scripts/bug_hunt.py [GUEST.wasm ...] [--configs LIST] [--seeds S] [--schedules N]
                               [--twin-schedules M] [--jobs J] [--json FILE] [--markdown] [--list]

GUEST.wasm are guests with a known bug, each exiting non-zero (or trapping) exactly when
the bug shows; by default every guests/races/*.wasm that is not a `_fixed` twin. A guest
NAME.wasm's twin is NAME_fixed.wasm beside it (the same program, correctly synchronised).

A configuration is a set of `wasmconc explore` options, such as `--policy pct --slice 5`
(`default` is none: the CLI's own defaults). LIST separates configurations with `;`; the
default covers today's options (policies, slices, PCT depth, instrumentation levels).
`explore` runs one scheduler only (fuel mode), so `--preempt` is not an option here; the
script sets `--seed` and `--schedules` itself.

For each guest and configuration, explorations with seeds 1..S (default 10) of up to N
schedules each (default 100) record how many schedules ran until the first failure (the
`explored K schedules` line of an exploration that exits 1, plus the executions of a
race-directed set-up), or that none failed. The
table shows, per guest and configuration, the median over the seeds (a seed that found
nothing counts as more than N, so a median above N shows as ">N") and found/total seeds.
Each twin then runs M schedules (default 200, seed 1) per configuration: any failure is
a false alarm or a bad twin and is listed.

Every exploration is one `python -m pytest_wasmconc explore` process (its exit code and
output are the record, the same interface users have), J at a time (default 2), each
ended after --timeout seconds. `--json FILE` keeps every number.

Exit status: 0 when every exploration ran and no twin failed; 1 when a twin failed or an
exploration ended otherwise than by passing or failing (a usage error, a timeout); 2 on
bad input (no guests, an unknown option in a configuration) with one line saying what.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
RACE_GUESTS = ROOT / "guests" / "races"
TWIN_SUFFIX = "_fixed"
DEFAULT = "default"
# Today's explore options: the default (random policy, slice 10000, atomics level), shorter
# quanta, PCT at two depths and a short slice, round robin, and the other two levels.
DEFAULT_CONFIGS = (
    f"{DEFAULT}; --slice 100; --slice 5; --slice 1; --policy pct; --policy pct --depth 10; "
    "--policy pct --slice 5; --policy rr --slice 5; --level memory --slice 5; --level waits --slice 5"
)
# The script chooses these per exploration.
RESERVED = ("--seed", "--schedules")
EXPLORED = re.compile(r"^explored (\d+) schedules? in ", re.M)
FAILED_AT = re.compile(r"^schedule (\d+) failed:\n(.*)$", re.M)


class UsageError(Exception):
    """Bad input to this script: reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors in one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"bug_hunt.py: {message}\n")


@dataclass(frozen=True)
class Config:
    name: str  # as given, e.g. "--policy pct --slice 5" or "default"
    options: tuple[str, ...]


@dataclass(frozen=True)
class Exploration:
    """One `wasmconc explore` process."""

    guest: Path
    config: Config
    seed: int
    schedules: int


@dataclass
class Result:
    schedules_run: int | None  # from the "explored K schedules" line; None when it did not run
    failed: bool  # a schedule failed (exit 1)
    failure: str | None  # the first line of the failing schedule's report
    error: str | None  # anything but a pass or a failure: usage error, timeout, crash
    seconds: float


@dataclass
class Cell:
    """One guest under one configuration, over all seeds."""

    schedules_to_failure: list[int | None]  # per seed; None: not found within the limit
    found: int
    seeds: int
    median: float | None  # None: more than half the seeds found nothing
    failure: str | None  # what the first failure looked like
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class TwinRun:
    schedules: int | None  # schedules run
    failed_at: int | None  # schedules until the failure, None when all passed
    failure: str | None
    error: str | None


@dataclass
class GuestReport:
    guest: str
    twin: str | None
    cells: dict[str, Cell]
    twin_runs: dict[str, TwinRun]


# -- running one exploration -----------------------------------------------------------------


def explore_command(job: Exploration) -> list[str]:
    return [sys.executable, "-m", "pytest_wasmconc", "explore", *job.config.options, "--seed", str(job.seed),
            "--schedules", str(job.schedules), str(job.guest.resolve())]


def parse_result(exit_code: int | None, output: str, seconds: float) -> Result:
    """What one exploration's exit code and output say (exit 0: all passed, 1: one failed)."""
    if exit_code is None:
        return Result(None, False, None, f"timed out after {seconds:.0f} s", seconds)
    explored = EXPLORED.search(output)
    if exit_code in (0, 1) and explored is not None:
        failed_at = FAILED_AT.search(output)
        if exit_code == 1 and failed_at is None:
            return Result(None, False, None, "exit 1 without a 'schedule K failed:' line", seconds)
        failure = failed_at.group(2).strip() if failed_at else None
        # The default exploration's race-directed set-up runs among its schedules: the count is whole.
        return Result(int(explored.group(1)), exit_code == 1, failure, None, seconds)
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return Result(None, False, None, f"exit {exit_code}: {lines[-1] if lines else 'no output'}", seconds)


def run_exploration(job: Exploration, timeout: float) -> Result:
    """Run it with stdin closed; on timeout end the process group this script started."""
    t0 = time.monotonic()
    proc = subprocess.Popen(explore_command(job), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
    # Reports name the guest by the absolute path it was given as; the table names it as the user did.
    output = out.decode(errors="replace").replace(str(job.guest.resolve()), rel(job.guest))
    return parse_result(code, output, time.monotonic() - t0)


# -- the measurement -------------------------------------------------------------------------


def median_to_failure(values: Sequence[int | None]) -> float | None:
    """The median over seeds, a seed that found nothing counting as infinitely many schedules."""
    m = statistics.median(math.inf if v is None else float(v) for v in values)
    return None if math.isinf(m) else m


def make_cell(results: Sequence[Result]) -> Cell:
    values = [r.schedules_run if r.failed else None for r in results]
    failures = [r.failure for r in results if r.failed and r.failure]
    return Cell(values, sum(v is not None for v in values), len(values), median_to_failure(values),
                failures[0] if failures else None, [r.error for r in results if r.error],
                round(sum(r.seconds for r in results), 2))


def make_twin_run(r: Result) -> TwinRun:
    return TwinRun(r.schedules_run, r.schedules_run if r.failed else None, r.failure, r.error)


def hunt(guests: Sequence[Path], configs: Sequence[Config], seeds: int, schedules: int, twin_schedules: int,
         jobs: int, timeout: float, progress: Callable[[str], None]) -> list[GuestReport]:
    twins = {g: twin_of(g) for g in guests}
    bug_jobs = [Exploration(g, c, seed, schedules) for g in guests for c in configs for seed in range(1, seeds + 1)]
    twin_jobs = [Exploration(t, c, 1, twin_schedules) for t in twins.values() if t is not None for c in configs]
    all_jobs = bug_jobs + twin_jobs
    per_guest = len(configs) * seeds
    results: dict[Exploration, Result] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for n, (job, res) in enumerate(zip(all_jobs, pool.map(lambda j: run_exploration(j, timeout), all_jobs)), 1):
            results[job] = res
            if res.error or (n > len(bug_jobs) and res.failed):
                progress(f"[{n}/{len(all_jobs)}] {rel(job.guest)} {job.config.name} seed {job.seed}: "
                         f"{res.error or 'FAILED: ' + str(res.failure)}")
            elif n <= len(bug_jobs) and n % per_guest == 0:  # the jobs run in order: this guest is done
                found = sum(results[j].failed for j in bug_jobs[n - per_guest:n])
                progress(f"[{n}/{len(all_jobs)}] {rel(job.guest)}: found in {found} of {per_guest} explorations")
    reports = []
    for g, twin in twins.items():
        cells = {c.name: make_cell([results[Exploration(g, c, s, schedules)] for s in range(1, seeds + 1)])
                 for c in configs}
        twin_runs: dict[str, TwinRun] = {}
        if twin is not None:
            twin_runs = {c.name: make_twin_run(results[Exploration(twin, c, 1, twin_schedules)]) for c in configs}
        reports.append(GuestReport(rel(g), rel(twin) if twin else None, cells, twin_runs))
    return reports


# -- input -----------------------------------------------------------------------------------


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def twin_of(guest: Path) -> Path | None:
    twin = guest.with_name(guest.stem + TWIN_SUFFIX + guest.suffix)
    return twin if twin.is_file() else None


def default_guests() -> list[Path]:
    return sorted(p for p in RACE_GUESTS.glob("*.wasm") if not p.stem.endswith(TWIN_SUFFIX))


def parse_configs(text: str) -> list[Config]:
    configs: list[Config] = []
    for part in text.split(";"):
        name = " ".join(part.split())
        if not name:
            continue
        try:
            options = () if name == DEFAULT else tuple(shlex.split(name))
        except ValueError as exc:
            raise UsageError(f"--configs: {name!r}: {exc}") from None
        reserved = [o for o in options if o.split("=", 1)[0] in RESERVED]
        if reserved:
            raise UsageError(f"--configs: {name!r} sets {reserved[0].split('=', 1)[0]}, which this script chooses "
                             "(--seeds, --schedules)")
        if name in (c.name for c in configs):
            raise UsageError(f"--configs: {name!r} is given twice")
        configs.append(Config(name, options))
    if not configs:
        raise UsageError("--configs: no configuration given")
    return configs


def check_configs(configs: Sequence[Config], guest: Path, timeout: float) -> None:
    """One schedule per configuration first: an option explore rejects is one line here, not N*S errors."""
    for c in configs:
        r = run_exploration(Exploration(guest, c, 1, 1), timeout)
        if r.error:
            raise UsageError(f"configuration {c.name!r} does not run: {r.error}")


def check_guests(paths: Sequence[Path]) -> list[Path]:
    if not paths:
        raise UsageError(f"no guests given and none in {rel(RACE_GUESTS)}")
    for p in paths:
        if not p.is_file():
            raise UsageError(f"{p}: no such file")
    if len(set(map(Path.resolve, paths))) != len(paths):
        raise UsageError("a guest is given twice")
    return list(paths)


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# -- output ----------------------------------------------------------------------------------


def cell_text(cell: Cell, schedules: int) -> str:
    median = f">{schedules}" if cell.median is None else f"{cell.median:g}"
    return f"{median} ({cell.found}/{cell.seeds})" + (" !" if cell.errors else "")


def twin_text(run: TwinRun) -> str:
    if run.error:
        return f"error: {run.error}"
    if run.failed_at is not None:
        return f"FAILED at schedule {run.failed_at}: {run.failure}"
    return f"ok ({run.schedules} schedules)"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> list[str]:
    if markdown:
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                *("| " + " | ".join(r) + " |" for r in rows)]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in [header, *rows]]


def render(reports: Sequence[GuestReport], configs: Sequence[Config], schedules: int, markdown: bool) -> list[str]:
    names = [c.name for c in configs]
    out = [f"schedules to the first failure: median over seeds (found/seeds); >{schedules}: "
           "more than half the seeds found nothing; ! an exploration did not run to its end"]
    guest_name = [Path(r.guest).stem for r in reports]
    out += table(["guest", *names], [[n, *(cell_text(r.cells[c], schedules) for c in names)]
                                     for n, r in zip(guest_name, reports)], markdown)
    out.append("")
    rows = [[Path(r.twin).stem, c, twin_text(run)] for r in reports if r.twin for c, run in r.twin_runs.items()
            if run.error or run.failed_at is not None]
    twins = sum(1 for r in reports if r.twin)
    if rows:
        out.append(f"fixed twins: {len(rows)} exploration(s) failed (a false alarm or a bad twin):")
        out += table(["twin", "configuration", "result"], rows, markdown)
    else:
        runs = sorted({run.schedules or 0 for r in reports for run in r.twin_runs.values()})
        out.append(f"fixed twins: each of the {twins} passed every configuration ({', '.join(map(str, runs))} "
                   "schedules each)" if twins else "fixed twins: none")
    no_twin = [Path(r.guest).stem for r in reports if not r.twin]
    if no_twin and twins:
        out.append(f"no twin: {', '.join(no_twin)}")
    return out


def _configs_joined(args: list[str]) -> list[str]:
    """`--configs X` as `--configs=X`: X is made of options (`--slice=5`), which argparse would not take as a value."""
    out: list[str] = []
    i = 0
    while i < len(args):
        if args[i] == "--configs" and i + 1 < len(args):
            out.append(f"--configs={args[i + 1]}")
            i += 2
        else:
            out.append(args[i])
            i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = _Parser(prog="bug_hunt.py", description=__doc__.splitlines()[0])
    ap.add_argument("guests", nargs="*", type=Path, metavar="GUEST.wasm",
                    help=f"guests with a known bug (default: every {rel(RACE_GUESTS)}/*.wasm but the twins)")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS,
                    help=f"explore options per configuration, separated by ';' (default: {DEFAULT_CONFIGS!r})")
    ap.add_argument("--seeds", type=positive, default=10, help="explore with seeds 1..S (default 10)")
    ap.add_argument("--schedules", type=positive, default=100, help="schedules per exploration (default 100)")
    ap.add_argument("--twin-schedules", type=positive, default=200,
                    help="schedules each fixed twin runs per configuration (default 200)")
    ap.add_argument("--jobs", type=positive, default=2, help="explorations at once (default 2)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per exploration (default 1800)")
    ap.add_argument("--json", type=Path, help="write every number to this file")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    ap.add_argument("--list", action="store_true", help="print the guests, twins and configurations; run nothing")
    a = ap.parse_args(_configs_joined(list(sys.argv[1:] if argv is None else argv)))
    try:
        if a.timeout <= 0:
            raise UsageError("--timeout must be positive")
        guests = check_guests(a.guests or default_guests())
        configs = parse_configs(a.configs)
        if a.list:
            for g in guests:
                twin = twin_of(g)
                print(f"{rel(g)}  twin: {rel(twin) if twin else 'none'}")
            for c in configs:
                print(f"configuration: {c.name}")
            return 0
        check_configs(configs, guests[0], a.timeout)
    except UsageError as exc:
        print(f"bug_hunt.py: {exc}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    print(f"{len(guests)} guest(s) x {len(configs)} configuration(s) x seeds 1..{a.seeds}, up to {a.schedules} "
          f"schedules; twins {a.twin_schedules} schedules; {a.jobs} job(s)", flush=True)
    reports = hunt(guests, configs, a.seeds, a.schedules, a.twin_schedules, a.jobs, a.timeout,
                   lambda line: print(line, flush=True))
    for line in render(reports, configs, a.schedules, a.markdown):
        print(line)
    elapsed = time.monotonic() - t0
    print(f"took {elapsed:.0f} s")
    if a.json:
        a.json.write_text(json.dumps({
            "command": shlex.join(["python", "scripts/bug_hunt.py", *(argv if argv is not None else sys.argv[1:])]),
            "seeds": list(range(1, a.seeds + 1)), "schedules": a.schedules, "twin_schedules": a.twin_schedules,
            "configs": [c.name for c in configs], "seconds": round(elapsed, 1),
            "guests": [asdict(r) for r in reports]}, indent=1) + "\n")
    bad = any(c.errors for r in reports for c in r.cells.values()) or any(
        run.error or run.failed_at is not None for r in reports for run in r.twin_runs.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
