"""What the plugin prints: the header, the per-test guest report section, the replay command."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..options import DEFAULT, OPTIONS
from ..runtime import backstop, wasmtime_version
from ..runtime.settings import DEFAULT_MAX_STEPS, DEFAULT_TIMEOUT, Preempt
from .markers import SETTINGS_ARGUMENTS
from .options import PluginOptions
from .records import GuestRecord, failing_record, records_of
from .state import STATE_KEY

if TYPE_CHECKING:
    from ..runtime import Outcome

__all__ = [
    "SECTION_TITLE",
    "header_lines",
    "nodeid_argument",
    "not_replayable_command",
    "render_record",
    "replay_command",
    "report_failure",
    "report_timeline",
    "strip_shard_id",
    "trace_file_name",
    "write_trace",
]

SECTION_TITLE = "wasm guest report"
_OUTPUT_TAIL_LINES = 20
_SHARD_ID = r"wasm-shard\d+of\d+"


# Always in the header, default or not: the seed above all (random by default), and the
# mode, policy and backstop a reader of a CI log asks about first.
_ALWAYS_SHOWN = ("preempt", "policy", "seed", "timeout")


def header_lines(options: PluginOptions) -> list[str]:
    """The session's settings as flags one can paste onto a command line (non-default ones, and the main ones)."""
    if options.replay.value is not None:
        tok = options.replay.value
        return [(f"wasmconc: replaying --wasm-replay={options.replay_text} "
                f"(fuel mode, policy {tok.policy}, seed {tok.seed}; wasmtime {wasmtime_version()})")]
    flags = []
    for opt in SETTINGS_ARGUMENTS:
        value = options.value(opt).value
        if opt.name in _ALWAYS_SHOWN or value != opt.default:
            flags.append(f"{opt.pytest_flag}={opt.show(value)}")
    lines = [f"wasmconc: {' '.join(flags)} (wasmtime {wasmtime_version()})", _sources_line(options)]
    if options.trace_dir.value is not None:
        which = "every test's" if options.trace_schedules.value == "all" else "failing tests'"
        lines.append(f"wasmconc: guest traces and timelines of {which} guest executions go to "
                     f"{options.trace_dir.value}")
    return lines


def _sources_line(options: PluginOptions) -> str:
    """Where each setting that is not the default came from (the option table's precedence decided it)."""
    given = [f"{opt.name} from {options.value(opt).source}" for opt in OPTIONS.values()
             if opt.name != "replay" and options.value(opt).source != DEFAULT]
    return f"wasmconc: {'; '.join(given)}; the rest are defaults" if given else "wasmconc: every setting is a default"


def strip_shard_id(nodeid: str) -> str:
    """The test's id without the shard parameter (a replay runs one schedule, unsharded)."""
    out = re.sub(rf"\[{_SHARD_ID}\]$", "", nodeid)
    out = re.sub(rf"-{_SHARD_ID}(?=[\]-])", "", out)
    return re.sub(rf"(?<=\[){_SHARD_ID}-", "", out)


def nodeid_argument(item: pytest.Item) -> str:
    """The item's node id as a command-line argument valid from the directory pytest was started in."""
    nodeid = strip_shard_id(item.nodeid)
    path, sep, rest = nodeid.partition("::")
    invocation = item.config.invocation_params.dir
    full = item.config.rootpath / path
    try:
        rel = os.path.relpath(full, invocation)
    except ValueError:  # another drive (Windows)
        rel = str(full)
    return shlex.quote(f"{Path(rel).as_posix()}{sep}{rest}")


def replay_command(item: pytest.Item, token: str) -> str:
    return f"pytest {nodeid_argument(item)}{bound_flags(item)} --wasm-replay={token}"


def bound_flags(item: pytest.Item) -> str:
    """The session's step budget and backstop where not the defaults: where a replayed hang is declared."""
    state = item.config.stash.get(STATE_KEY, None)
    if state is None:
        return ""
    options = state.options
    flags = ""
    if options.timeout.value != DEFAULT_TIMEOUT:
        flags += f" --wasm-timeout={backstop.seconds(options.timeout.value)}"
    if options.max_steps.value != DEFAULT_MAX_STEPS:
        flags += f" --wasm-max-steps={options.max_steps.value if options.max_steps.value is not None else 'none'}"
    return flags


def not_replayable_command(item: pytest.Item, record: GuestRecord) -> str:
    """The command that runs the test in fuel mode with the same policy and seed (os and epoch mode have no token)."""
    s = record.settings
    return f"pytest {nodeid_argument(item)} --wasm-preempt=fuel --wasm-policy={s.policy} --wasm-seed={s.seed}"


def _reproduce_lines(item: pytest.Item, record: GuestRecord) -> list[str]:
    o = record.outcome
    if o.token:
        return [f"replay token: {o.token}", f"replay: {replay_command(item, o.token)}"]
    mode = record.settings.preempt.value
    return [(f"replay: not available: {mode} mode is not deterministic; for a replayable schedule run "
            f"{not_replayable_command(item, record)}")]


def _head(record: GuestRecord) -> str:
    s = record.settings
    o = record.outcome
    if o.status.value == "exited":
        what = f"exited with code {o.exit_code}"
    elif o.status.value == "trapped":
        what = o.summary()
    else:
        what = o.status.value  # the report's first line says more
    if not record.expected.met_by(o) and (o.status.value == "exited" or record.expected.status != "exited"):
        what += f" (expected {record.expected.describe()})"
    where = f"{s.preempt.value} mode, policy {s.policy}, seed {s.seed}" if s.preempt is not Preempt.OS \
        else "os mode"
    if record.kind == "explore":
        if record.schedule_index is not None:
            where = (f"schedule {record.schedule_index} failed after {record.schedules_run} of "
                     f"{record.schedules_planned} schedules; " + where)
        else:
            where = f"all {record.schedules_run} of {record.schedules_planned} schedules passed; " + where
        if record.statement is not None:
            where = f"{record.statement}; " + where
    elif record.kind == "replay":
        where = "replayed; " + where
    elif record.kind == "memory":
        where = "the schedule that failed this test last time, replayed first (failure memory); " + where
    return f"{record.guest}: {what} ({where})"


def _tail(label: str, text: str) -> list[str]:
    if not text:
        return []
    lines = text.rstrip("\n").splitlines()
    if len(lines) > _OUTPUT_TAIL_LINES:
        return [f"guest {label} (last {_OUTPUT_TAIL_LINES} of {len(lines)} lines):"] + \
            ["  " + ln for ln in lines[-_OUTPUT_TAIL_LINES:]]
    return [f"guest {label}:"] + ["  " + ln for ln in lines]


def render_record(item: pytest.Item, record: GuestRecord, *, failed_count: int = 1) -> str:
    """The report section of a failing test: what ended how, each thread, how to replay it."""
    o = record.outcome
    lines = record.check_failures + ([record.unexpected] if record.unexpected else []) + [_head(record)]
    if o.report and (o.status.value != "exited" or "\n" in o.report):
        lines += o.report.splitlines()
    if not backstop.reached(o, record.settings.timeout):
        pass  # ended otherwise (the step budget says so itself)
    elif record.cut_by_timeout is not None:
        lines.append(f"(the plugin ended this guest before the test's pytest-timeout of {record.cut_by_timeout:g} s)")
    else:
        lines.append(f"(the wall-clock backstop of {backstop.seconds(record.settings.timeout)} s was reached: raise "
                     "it with --wasm-timeout=SECONDS (ini wasm_timeout, env PYTEST_WASM_TIMEOUT) or "
                     "@pytest.mark.wasm_no_hang(timeout=SECONDS); --wasm-timeout=none turns it off)")
    if record.kind == "explore" and record.distinct:
        kinds = ", ".join(f"{k} x{n}" for k, n in record.distinct.most_common())
        lines.append(f"outcomes explored: {kinds}")
    lines += _tail("stdout", o.stdout)
    lines += _tail("stderr", o.stderr)
    if failed_count > 1:
        lines.append(f"({failed_count} guest executions of this test failed; this is the last one)")
    shrunk = record.shrink
    if shrunk is not None:
        lines.append(shrunk.headline())
    lines += _reproduce_lines(item, record)
    if shrunk is not None:  # the original schedule's replay after the shrunk one's, then the interleaving
        lines += shrunk.after_replay(lambda token: replay_command(item, token))
    return "\n".join(lines)


def trace_file_name(nodeid: str) -> str:
    return re.sub(r"[^\w.-]+", "_", nodeid).strip("_")[:180] + ".txt"


def write_trace(directory: Path, item: pytest.Item, section: str, outcome: Outcome | None) -> Path:
    """Write a failing test's report, full guest output and WASI call trace into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / trace_file_name(item.nodeid)
    parts = [f"test: {item.nodeid}", "", section]
    if outcome is not None:
        parts += ["", "--- guest stdout ---", outcome.stdout, "--- guest stderr ---", outcome.stderr]
        if outcome.trace:
            parts.append(f"--- the last {len(outcome.trace)} WASI calls, oldest first ---")
            parts += [str(e) for e in outcome.trace]
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def report_failure(item: pytest.Item, report: pytest.TestReport, trace_dir: Path | None) -> None:
    """Give a failing test's report its guest section (unless its exception is that report), trace file and
    timeline (the section, or a section of its own, names the files)."""
    record = failing_record(item)
    if record is None:
        return
    failed = sum(1 for r in records_of(item) if r.failed)
    section = render_record(item, record, failed_count=max(failed, 1))
    files: list[str] = []
    if trace_dir is not None:
        try:
            files.append(f"trace: {write_trace(trace_dir, item, section, record.outcome)}")
        except OSError as exc:  # never an INTERNALERROR: say so in the failing test's report
            files.append(f"--wasm-trace-dir {trace_dir}: cannot write the trace: {exc.strerror or exc}")
        from . import timeline_files  # here: timelines import the checks, and with them wasmtime

        line = timeline_files.write(item, record, trace_dir, failed=True)
        if line is not None:
            files.append(line)
    if not record.raised:
        report.sections.append((SECTION_TITLE, "\n".join([section, *files])))
    elif files:
        report.sections.append((SECTION_TITLE + " (trace files)", "\n".join(files)))


def report_timeline(item: pytest.Item, report: pytest.TestReport, trace_dir: Path) -> None:
    """A test that did not fail (passed, or xfailed) under --wasm-trace-schedules=all: its timeline, named in a
    section of its report (shown with -rA)."""
    records = records_of(item)
    record = failing_record(item)
    if record is None:
        return
    from . import timeline_files  # here: timelines import the checks, and with them wasmtime

    line = timeline_files.write(item, record, trace_dir, failed=any(r.failed for r in records))
    if line is not None:
        report.sections.append((SECTION_TITLE + " (timeline)", line))
