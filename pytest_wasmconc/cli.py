"""`wasmconc run | explore | replay`: run and explore guests outside pytest.

Exit codes: `run` and `replay` exit with the guest's exit code, 134 after a
guest trap (report on stderr), 124 after a deadlock or hang (report on
stderr); `explore` exits 0 when every schedule passed and 1 at the first
failing one; every command exits 2 on a usage or module error, with one line
saying what is wrong.

The scheduling options (`--preempt`, `--policy`, `--seed`, `--slice`,
`--depth`, `--level`, `--max-steps`, `--timeout`, `--schedules`) are rows of
the option table the pytest plugin uses too (`options.py`): the same
defaults, valid values and one-line errors. The seed is random unless given,
and printed: by `explore` after its summary, by a fuel-mode `run` whose guest
exits non-zero (a trap or a hang prints a replay command instead, its token
holding the seed), so that `--seed N` runs those schedules again.

No execution is unbounded: besides the step budget (`--max-steps`), each one
has a wall-clock backstop (`--timeout`, default 300 s, in every mode: a guest
spinning in epoch or os mode, or blocked on input in any mode, is ended
there, exit 124, with a line naming the backstop and how to raise it);
`--timeout none` (or 0) turns it off.

`--check streams` runs the guest on observed output streams (the
`wasmconc_streams` imports of core guests, WASI 0.2 streams of components)
with `--stream-budget`, `--stream-flush-steps` and `--stream-fault`: a
protocol violation or an event sequence that does not match `--stream-expect`
makes `run` exit 1 with the report (violation, guest backtrace, stream
history) on stderr; a deadlock or hang still exits 124, its report then
including the stream history.

`--check lock-order` instruments the guest's lock functions and fails on a
lock-order inversion (a cycle in the order locks are taken, a potential
deadlock) even when no schedule deadlocked: `explore` stops at the first
schedule that completes a cycle and exits 1, `run`/`replay` exit 1 (or 124
after a deadlock), with the report ("lock-order inversion", the cycle, each
edge's thread and backtraces).

`--trace-dir DIR` writes the timeline of a failing execution (`explore`: of the
failing schedule, run once more with the recorder on; `run`/`replay`: recorded as
it runs) as DIR/GUEST-COMMAND.trace.json (Chrome trace events: Perfetto,
chrome://tracing) and DIR/GUEST-COMMAND.timeline.html (a page that opens
offline), and prints a `timeline:` line naming both; `--trace-schedules all`
also for a passing run and a passing exploration's last schedule.

`--check races` reports data races: plain accesses to shared memory that no
happens-before (spawn, atomics, locks) orders, found in the one execution
that made both; `run`/`replay` exit 1 (or 124/134 after a hang/trap) and
`explore` stops at the first schedule with a race, with the report (both
accesses, their threads and backtraces). `--race-suppress PATTERN`
(repeatable) leaves functions whose whole name matches the regex unchecked.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeGuard

from .runtime import GuestIO, ModuleError, Outcome, Preempt, Program, Runner, RunSettings, Status, WasmconcError
from .runtime import backstop
from .runtime.version import package_version, wasmtime_version
from .checks.streams.extension import StreamCheck, verdict_of
from .options import DEFAULT, RANDOM_CHOICE, SETTING_FIELDS, WASMCONC, Sourced, chosen_seed, options_of, session_value
from .progress import ProgressLine
from .runtime.extensions import Extension
from .wasi.p2.stream import StreamConfig, echo_sinks

if TYPE_CHECKING:
    from .checks.lock_order import LockOrderCheck
    from .checks.races import RaceCheck

# The checks of --check lock-order and races, race direction (explore), timelines (--trace-dir) and
# the dfs search are imported where a command uses them: `wasmconc run` of a guest without them
# does not pay their import (benchmarks/README.md "Throughput (issue 20)").

__all__ = ["main"]

EXIT_TRAP = 134
EXIT_HANG = 124
EXIT_USAGE = 2
EXIT_CHECK = 1  # a --check found a violation
CHECKS = ("streams", "lock-order", "races")
GUEST_ARGS = "[-- ARGS...]"
STREAM_FAULTS = ("lost-wakeup",)
_TIMELINE_OPTIONS = ("trace_dir", "trace_schedules")  # where timelines go: not part of a replay command


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line instead of printing the usage block.

    `guest_args=True` (the subcommands): the usage line ends in `[-- ARGS...]`, the
    arguments main() takes off after `--` for the guest before argparse sees them.
    """

    def __init__(self, *args: Any, guest_args: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guest_args = guest_args

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)

    def format_usage(self) -> str:
        return self._with_guest_args(super().format_usage())

    def format_help(self) -> str:
        return self._with_guest_args(super().format_help())

    def _with_guest_args(self, text: str) -> str:
        if not self.guest_args:
            return text
        usage, sep, rest = text.partition("\n\n")  # the usage paragraph comes first
        return f"{usage.rstrip()} {GUEST_ARGS}{sep or chr(10)}{rest}"


def _positive_int(text: str) -> int:
    try:
        v = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _nonnegative_int(text: str) -> int:
    v = _int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {v}")
    return v


def _dir(text: str) -> tuple[str, str]:
    host, sep, guest = text.partition("::")
    if not host:
        raise argparse.ArgumentTypeError(f"--dir {text!r}: empty host directory")
    if sep and not guest:
        raise argparse.ArgumentTypeError(f"--dir {text!r}: empty guest path after '::'")
    return host, guest if sep else host


def _env(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--env {text!r}: expected NAME=VALUE")
    return name, value


def _table_options(p: argparse.ArgumentParser, command: str) -> None:
    """The scheduling options of the shared table (options.py) this command takes.

    Kept as text here and read after parsing (`_values`), with the table's own parsers,
    so a bad value reads the same as in pytest: the option, its source, the valid values.
    """
    for opt in options_of(command):
        p.add_argument(opt.cli_flag, dest=opt.name, metavar=opt.metavar, default=None,
                       help=opt.help(WASMCONC).replace("%", "%%"))


def _common(p: argparse.ArgumentParser, command: str) -> None:
    p.add_argument("guest", metavar="GUEST.wasm", help="the guest module: a .wasm binary or .wat text")
    p.add_argument("--dir", dest="dirs", action="append", type=_dir, default=[], metavar="HOST[::GUEST]",
                   help="preopen a host directory at a guest path (HOST alone: the same path)")
    p.add_argument("--env", dest="env", action="append", type=_env, default=[], metavar="NAME=VALUE",
                   help="set an environment variable for the guest")
    p.add_argument("--wasi", choices=["sandbox", "native"], default="sandbox",
                   help="WASI implementation: the shared sandbox (default) or wasmtime's own (one context per thread)")
    p.add_argument("--wasi-fault", dest="wasi_faults", action="append", default=[], metavar="KEY[=VALUE]",
                   help="inject WASI I/O faults (sandbox only; repeatable): seed=N, max-read=N, max-write=N, "
                        "random-short, eintr-calls=1,3, eintr-probability=P, eagain-calls=..., "
                        "eagain-probability=P, enospc-after=BYTES, targets=file,stdin,stdout,stderr")
    _table_options(p, command)
    p.add_argument("--check", dest="checks", action="append", choices=CHECKS, default=[],
                   help="streams: run on observed output streams and fail (exit 1, with the report) on a "
                        "stream protocol violation or an unexpected event sequence; lock-order: fail (exit 1, "
                        "with the report) on a lock-order inversion (potential deadlock); races: fail (exit 1, "
                        "with the report) on a data race between plain accesses to shared memory")
    p.add_argument("--race-suppress", dest="race_suppress", action="append", default=[], metavar="PATTERN",
                   help="with --check races: do not check the functions whose whole name matches this regex "
                        "(repeatable)")
    p.add_argument("--stream-budget", type=_positive_int, default=StreamConfig.budget, metavar="BYTES",
                   help=f"bytes one check-write grants (default {StreamConfig.budget})")
    p.add_argument("--stream-flush-steps", type=_nonnegative_int, default=0, metavar="K",
                   help="a flush completes only after K more stream operations (any thread's stream calls and expired "
                        "waits; default 0: at once)")
    p.add_argument("--stream-fault", dest="stream_faults", action="append", choices=STREAM_FAULTS, default=[],
                   help="lost-wakeup: stream readiness never fires again after the first flush")
    p.add_argument("--stream-expect", metavar="PATTERN", default=None,
                   help="with --check streams: the event sequence each stream must follow, e.g. "
                        "'(check-write write flush subscribe poll ready)+'")


_GUEST_ARGS_HELP = "ARGS after -- go to the guest, e.g. wasmconc run g.wasm -- 50 2"


class _VersionAction(argparse.Action):
    """--version: the versions are read when asked (this package's through importlib.metadata, whose
    import is a tenth of a run's start-up)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show program's version number and exit") -> None:  # noqa: A002
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"wasmconc (pytest-wasmconc) {package_version()}, wasmtime {wasmtime_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wasmconc", description="Run and explore multithreaded WebAssembly/WASI guests.",
                     epilog="Arguments after -- go to the guest.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="{run,explore,replay}", parser_class=_Parser)
    run = sub.add_parser("run", help="run a guest once", description="Run a guest once.",
                         epilog=_GUEST_ARGS_HELP, guest_args=True)
    _common(run, "run")
    exp = sub.add_parser("explore", help="run many schedules, stop at the first failure",
                         description="Run up to N schedules; stop at the first failing one.",
                         epilog=_GUEST_ARGS_HELP, guest_args=True)
    exp.add_argument("--expect-exit", type=_int, default=0, help="the exit code that counts as passing (default 0)")
    exp.add_argument("--progress", action="store_true",
                     help="show the progress line (schedules done, rate, outcomes, elapsed) on stderr even when it "
                          "is no terminal (on a terminal it is always shown)")
    exp.add_argument("--no-reduction", dest="reduction", action="store_false",
                     help="dfs policy: turn the search's partial-order reduction (sleep sets) off, so that every "
                          "schedule within the bound runs (to compare counts and times)")
    _common(exp, "explore")
    rep = sub.add_parser("replay", help="replay the schedule a token describes",
                         description="Replay the exact schedule of a replay token (which fixes the policy, "
                                     "its seed, slice and depth, and the instrumentation level).",
                         epilog=_GUEST_ARGS_HELP, guest_args=True)
    _common(rep, "replay")
    rep.add_argument("token", metavar="TOKEN", help="a replay token printed by a failure")
    return parser


def _split_guest_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    argv = list(argv)
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


def _unrecognized(ns: argparse.Namespace, extra: list[str]) -> str:
    """argparse's message for arguments it does not know, with a hint when they look like the guest's."""
    message = f"unrecognized arguments: {' '.join(extra)}"
    if ns.command is None or getattr(ns, "guest", None) is None or extra[0].startswith("-"):
        return message
    token = " TOKEN" if ns.command == "replay" else ""
    example = shlex.join(["wasmconc", ns.command, ns.guest]) + token + " -- " + shlex.join(extra)
    return f"{message} (arguments for the guest go after --, as in: {example})"


def _values(ns: argparse.Namespace) -> dict[str, Sourced[Any]]:
    """The command's table options, each read from its flag or defaulted (OptionError on a bad value).

    Read once per command and kept on `ns`: a random seed is chosen here, once.
    """
    values: dict[str, Sourced[Any]] | None = getattr(ns, "values", None)
    if values is None:
        values = {opt.name: session_value(opt, WASMCONC, cli=getattr(ns, opt.name))
                  for opt in options_of(ns.command)}
        if "seed" in values:
            values["seed"] = chosen_seed(values["seed"])
        ns.values = values
    return values


def _settings(ns: argparse.Namespace, preempt: Preempt) -> RunSettings:
    """The settings of the command's executions (`replay`: before its token sets the schedule's own)."""
    given = {name: v.value for name, v in _values(ns).items() if name in SETTING_FIELDS}
    return RunSettings(**{**given, "preempt": preempt})


def _io(ns: argparse.Namespace, guest_args: list[str], *, stdin: object, passthrough: bool) -> GuestIO:
    return GuestIO(args=guest_args, env=dict(ns.env), dirs=list(ns.dirs), stdin=stdin,  # type: ignore[arg-type]
                   passthrough=passthrough, wasi=ns.wasi, wasi_options=_wasi_options(ns))


def _wasi_options(ns: argparse.Namespace) -> dict[str, object]:
    if not ns.wasi_faults:
        return {}
    if ns.wasi != "sandbox":
        raise _UsageError("--wasi-fault needs --wasi sandbox (wasmtime's own WASI cannot inject faults)")
    from .wasi import FaultPlan

    try:
        return {"faults": FaultPlan.from_specs(ns.wasi_faults)}
    except ValueError as exc:
        raise _UsageError(f"--wasi-fault: {exc}") from None


def _extensions(ns: argparse.Namespace, *, echo: bool) -> list[Extension]:
    """The stream world every execution runs on: checked with --check streams, else only observed."""
    try:
        config = StreamConfig(budget=ns.stream_budget, flush_steps=ns.stream_flush_steps,
                              lost_wakeup="lost-wakeup" in ns.stream_faults)
        check = "streams" in ns.checks
        if ns.stream_expect is not None and not check:
            raise _UsageError("--stream-expect needs --check streams")
        exts: list[Extension] = [StreamCheck(config, expect=ns.stream_expect, check=check,
                                             sinks=echo_sinks() if echo else None)]
        if "lock-order" in ns.checks:
            from .checks.lock_order import LockOrderCheck

            exts.append(LockOrderCheck())
        if ns.race_suppress and "races" not in ns.checks:
            raise _UsageError("--race-suppress needs --check races")
        if "races" in ns.checks:
            from .checks.races import RaceCheck

            exts.append(RaceCheck(ns.race_suppress))
        return exts
    except ValueError as exc:
        # Their modules are imported only when a run asked for them (the except clause does not load them).
        from .checks.races.tables import SuppressionError  # noqa: PLC0415
        from .checks.streams.sequence import PatternError  # noqa: PLC0415

        if isinstance(exc, SuppressionError):
            raise _UsageError(f"--race-{exc}") from None
        raise _UsageError(f"--stream-expect: {exc}" if isinstance(exc, PatternError) else str(exc)) from None


def _stream_failure(outcome: Outcome) -> str | None:
    """The stream check's report when it failed this outcome (None: passed or not checked)."""
    verdict = verdict_of(outcome)
    if verdict is None or not verdict.failed or not verdict.text:
        return None
    return verdict.text


def _guest(runner: Runner, ns: argparse.Namespace, extensions: list[Extension]) -> str | Program:
    """The guest; loaded first under --check lock-order or races, which refuse a guest they cannot see into."""
    for ext in extensions:
        if _is_a_program_check(ext):
            settings = runner.settings
            program = runner.load(ns.guest, settings, extensions=extensions)
            problem = ext.problem_with(program)
            if problem is not None:
                raise ModuleError(problem)
            return program
    return str(ns.guest)


def _is_a_program_check(ext: Extension) -> TypeGuard[LockOrderCheck | RaceCheck]:
    """--check lock-order or races (each imported only when asked for)."""
    lock_order = sys.modules.get(f"{__package__}.checks.lock_order")
    races = sys.modules.get(f"{__package__}.checks.races")
    return ((lock_order is not None and isinstance(ext, lock_order.LockOrderCheck))
            or (races is not None and isinstance(ext, races.RaceCheck)))


def _lock_order_failure(outcome: Outcome) -> str | None:
    """The lock-order check's report when it found an inversion (None: none, or not checked)."""
    check = _lock_order_of(outcome)
    if check is None or not check.failed:
        return None
    return check.report()


def _lock_order_of(outcome: Outcome) -> Any:
    """The lock-order check's state of this outcome (None: not checked, or the check never imported)."""
    module = sys.modules.get(f"{__package__}.checks.lock_order")
    return module.lock_order_of(outcome) if module is not None else None


def _races_of(outcome: Outcome) -> Any:
    """The race check's findings of this outcome (None: none, not checked, or the check never imported)."""
    module = sys.modules.get(f"{__package__}.checks.races")
    return module.races_of(outcome) if module is not None else None


def _race_failure(outcome: Outcome) -> str | None:
    """The race check's report when this execution found a race (None: none, or not checked)."""
    found = _races_of(outcome)
    return found.text() if found is not None else None


def _exit_code_of(outcome: Outcome) -> int:
    if outcome.status is Status.EXITED:
        return (outcome.exit_code or 0) & 0xFF
    if outcome.status is Status.TRAPPED:
        return EXIT_TRAP
    return EXIT_HANG


def _replay_command(ns: argparse.Namespace, guest_args: list[str], token: str | None) -> str:
    parts = ["wasmconc", "replay"]
    for host, guest in ns.dirs:
        parts += ["--dir", f"{host}::{guest}"]
    for name, value in ns.env:
        parts += ["--env", f"{name}={value}"]
    if ns.wasi != "sandbox":
        parts += ["--wasi", ns.wasi]
    for fault in ns.wasi_faults:
        parts += ["--wasi-fault", fault]
    values = _values(ns)
    for opt in options_of("replay"):  # where a replayed hang is declared; the token carries the rest
        value = values[opt.name].value
        if value != opt.default and opt.name not in _TIMELINE_OPTIONS:
            parts += [opt.cli_flag, opt.show(value)]
    for check in ns.checks:
        parts += ["--check", check]
    for pattern in ns.race_suppress:
        parts += ["--race-suppress", pattern]
    if ns.stream_budget != StreamConfig.budget:
        parts += ["--stream-budget", str(ns.stream_budget)]
    if ns.stream_flush_steps:
        parts += ["--stream-flush-steps", str(ns.stream_flush_steps)]
    for fault in ns.stream_faults:
        parts += ["--stream-fault", fault]
    if ns.stream_expect is not None:
        parts += ["--stream-expect", ns.stream_expect]
    parts += [ns.guest, token or "<no token: not a deterministic run>"]
    if guest_args:
        parts += ["--", *guest_args]
    return shlex.join(parts)


def _print_report(outcome: Outcome, timeout: float | None) -> None:
    if outcome.status is not Status.EXITED and outcome.report:
        print(outcome.report, file=sys.stderr)
    hint = _backstop_hint(outcome, timeout)
    if hint:
        print(hint, file=sys.stderr)


def _backstop_hint(outcome: Outcome, timeout: float | None) -> str | None:
    """Which limit ended the run and the option that moves it (the report says the guest was still running)."""
    if not backstop.reached(outcome, timeout):
        return None
    return (f"wasmconc: the wall-clock backstop of {backstop.seconds(timeout)} s was reached: raise it with "
            "--timeout SECONDS, or turn it off with --timeout none")


def _seed_note(values: dict[str, Sourced[Any]]) -> str:
    """How to run a failed fuel run's schedule again when its seed was picked at random."""
    seed = values["seed"].value
    return f"wasmconc: the seed was {seed} (a random choice): --seed {seed} runs this schedule again"


def _timeline(ns: argparse.Namespace, outcome: Outcome, failed: bool, stem: str) -> str | None:
    """Write the outcome's timeline where --trace-dir says (when it failed, or --trace-schedules all);
    the line naming the files."""
    values = _values(ns)
    directory = values["trace_dir"].value
    tl = outcome.timeline
    if directory is None or tl is None or not (failed or values["trace_schedules"].value == "all"):
        return None
    from . import timelines
    from .runtime.timeline.files import file_stem

    try:
        return timelines.save(tl, outcome, directory, file_stem(f"{Path(ns.guest).stem}-{stem}"), failed=failed)
    except OSError as exc:
        return f"wasmconc: --trace-dir {directory}: cannot write the timeline: {exc.strerror or exc}"


def _cmd_run(ns: argparse.Namespace, guest_args: list[str], preempt: Preempt, *, token: str | None = None) -> int:
    values = _values(ns)
    runner = Runner(_settings(ns, preempt))
    io = _io(ns, guest_args, stdin="inherit", passthrough=True)
    extensions = _extensions(ns, echo=True)
    record = values["trace_dir"].value is not None  # one execution: recorded as it runs
    if token is not None:
        outcome = runner.replay(ns.guest, token, io, extensions=extensions, timeline=record)
    else:
        outcome = runner.run(_guest(runner, ns, extensions), io, extensions=extensions, timeline=record)
    sys.stdout.flush()
    _print_report(outcome, values["timeout"].value)
    streams = _stream_failure(outcome)
    if streams is not None:
        print(streams, file=sys.stderr)
    locks = _lock_order_failure(outcome)
    if locks is not None:
        print(locks, file=sys.stderr)
    races = _race_failure(outcome)
    if races is not None:
        print(races, file=sys.stderr)
    replayable = (outcome.status is not Status.EXITED or streams is not None or locks is not None
                  or races is not None) and outcome.token
    if replayable:
        print(f"replay: {_replay_command(ns, guest_args, outcome.token)}", file=sys.stderr)
    saved = _timeline(ns, outcome, bool(replayable) or _exit_code_of(outcome) != 0, ns.command)
    if saved is not None:
        print(saved, file=sys.stderr)
    if streams is not None and outcome.status in (Status.EXITED, Status.TRAPPED):
        return EXIT_CHECK  # a violation (a trap it caused) or an unexpected sequence
    if (locks is not None or races is not None) and outcome.status is Status.EXITED:
        return EXIT_CHECK
    code = _exit_code_of(outcome)
    seed = values.get("seed")
    if code and not replayable and preempt is Preempt.FUEL and seed is not None and seed.source == RANDOM_CHOICE:
        print(_seed_note(values), file=sys.stderr)  # the guest's own failure exit: its schedule may matter
    return code


def shrink_failure(*args: Any, **kwargs: Any) -> Any:
    """`shrinking.shrink_failure`, imported on first use (it imports the race check)."""
    from .shrinking import shrink_failure as shrink

    return shrink(*args, **kwargs)


def _cmd_explore(ns: argparse.Namespace, guest_args: list[str]) -> int:
    from .directed import DirectedPlan, is_directable
    from .schedulers import Dfs, Portfolio

    values = _values(ns)
    runner = Runner(_settings(ns, Preempt.FUEL))
    bound = values["preemption_bound"].value
    searching = runner.settings.policy == Dfs.name
    if bound is not None and not searching:
        raise _UsageError("--preemption-bound bounds the dfs policy's search: add --policy dfs")
    if not ns.reduction and not searching:
        raise _UsageError("--no-reduction turns off the dfs policy's sleep sets: add --policy dfs")
    io = _io(ns, guest_args, stdin=None, passthrough=False)
    extensions = _extensions(ns, echo=False)
    guest = _guest(runner, ns, extensions)
    settings = runner.settings
    direction = None
    tty = sys.stderr.isatty()
    progress = ProgressLine(values["schedules"].value, sys.stderr, redraw=tty, visible=tty or ns.progress)

    def is_failure(o: Outcome) -> bool:
        return (o.failed(ns.expect_exit) or _stream_failure(o) is not None or _lock_order_failure(o) is not None
                or _races_of(o) is not None)

    directed = (values["policy"].source == DEFAULT or settings.policy == Portfolio.name) and is_directable(
        settings, guest)
    try:
        if directed:
            # The default exploration is race-directed (directed.py): the random walk's schedules first,
            # then interleaved with the set-up and the directed schedules, all within --schedules.
            plan = DirectedPlan(settings.with_(policy=Portfolio.name), extensions)
            result = runner.explore_plan(guest, io, plan, schedules=values["schedules"].value, is_failure=is_failure,
                                         progress=progress)
            direction = plan.direction(result.elapsed)
        else:
            result = runner.explore(guest, io, schedules=values["schedules"].value, settings=settings,
                                    expect_exit=ns.expect_exit, extensions=extensions, preemption_bound=bound,
                                    is_failure=is_failure, progress=progress, reduction=ns.reduction)
    except KeyboardInterrupt:
        progress.finish()
        print(progress.interrupted(values["seed"].value, values["seed"].source), file=sys.stderr)
        raise
    progress.finish()
    o = result.outcome
    shrunk = None
    if result.failed:
        # The failure retold with as few preemptions as fail the same way (shrinking/), reported first.
        shrunk = shrink_failure(runner, guest, io, o, settings, budget=values["shrink_time"].value,
                                expect_exit=ns.expect_exit, extensions=extensions)
        o = shrunk.outcome if shrunk is not None else o
        print(f"schedule {result.first_failure_index} failed:")
        print(o.report or o.summary())
        hint = _backstop_hint(o, values["timeout"].value)
        if hint:
            print(hint)
        streams = _stream_failure(o)
        if streams is not None:
            print(streams)
        locks = _lock_order_failure(o)
        if locks is not None:
            print(locks)
        races = _race_failure(o)
        if races is not None:
            print(races)
        if o.stdout:
            print("--- guest stdout ---")
            print(o.stdout.rstrip("\n"))
        if o.stderr:
            print("--- guest stderr ---")
            print(o.stderr.rstrip("\n"))
        if shrunk is not None and shrunk.improved:
            # The shrunk schedule's replay command first, on the usual "replay:" line; the original's after it.
            print("\n".join(shrunk.lines(lambda token: _replay_command(ns, guest_args, token), label="replay")))
        else:
            print(f"replay: {_replay_command(ns, guest_args, o.token)}")
            if shrunk is not None:
                print("\n".join(shrunk.lines(lambda token: _replay_command(ns, guest_args, token))))
    if values["trace_dir"].value is not None and (result.failed or values["trace_schedules"].value == "all"):
        # The schedule again, recorded (one more execution, only now): fuel mode replays it exactly.
        index = result.first_failure_index if result.failed else result.schedules_run - 1
        program = guest if isinstance(guest, Program) else runner.load(guest, settings, extensions=extensions)
        o.timeline = runner.retrace(program, io, o, settings, extensions=extensions)
        saved = _timeline(ns, o, result.failed, f"explore-schedule{index}")
        if saved is not None:
            print(saved)
    if direction is not None:
        print(direction.summary())
    print(f"explored {result.summary()}")
    if result.statement is not None:
        print(result.statement)  # what the bounded search proved (its schedules do not depend on the seed)
    else:
        seed = values["seed"]  # random by default: the line that makes the exploration repeatable
        print(f"seed {seed.value} ({seed.source}): --seed {seed.value} explores the same schedules again")
    check = _lock_order_of(o)
    if check is not None and not result.failed:
        print(f"{check.summary()}; no lock-order inversion")
    return 1 if result.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    own, guest_args = _split_guest_args(args)
    parser = build_parser()
    try:
        ns, extra = parser.parse_known_args(own)
        if extra:
            raise _UsageError(_unrecognized(ns, extra))
        if ns.command is None:
            raise _UsageError("missing command (run, explore or replay)")
        values = _values(ns)  # every bad option value before any guest is touched
        if ns.command == "run":
            return _cmd_run(ns, guest_args, values["preempt"].value)
        if ns.command == "replay":
            return _cmd_run(ns, guest_args, Preempt.FUEL, token=ns.token)
        return _cmd_explore(ns, guest_args)
    except _UsageError as exc:
        print(f"wasmconc: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WasmconcError as exc:
        print(f"wasmconc: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("wasmconc: interrupted", file=sys.stderr)
        return 130


def console_main() -> NoReturn:
    """The `wasmconc` console script.

    Exits with os._exit after flushing: native worker threads of wasmtime's
    own WASI (a tokio runtime) were seen panicking while the interpreter
    finalized around them; the guest's result is already decided here.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    console_main()
