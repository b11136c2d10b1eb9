"""`wasmconc run | explore | replay`: run and explore guests outside pytest.

Exit codes: `run` and `replay` exit with the guest's exit code, 134 after a
guest trap (report on stderr), 124 after a deadlock or hang (report on
stderr); `explore` exits 0 when every schedule passed and 1 at the first
failing one; every command exits 2 on a usage or module error, with one line
saying what is wrong.

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
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from collections.abc import Sequence
from typing import NoReturn

from .checks.lock_order import LockOrderCheck, lock_order_of
from .runtime.errors import ModuleError, WasmconcError
from .runtime.extensions import Extension
from .runtime.outcome import Outcome, Status
from .runtime.loading.program import Program
from .runtime.runner import GuestIO, Runner
from .runtime import backstop
from .runtime.settings import DEFAULT_MAX_STEPS, DEFAULT_SLICE, DEFAULT_TIMEOUT, Preempt, RunSettings
from .runtime.token import MAX_SLICE
from .schedulers import DEFAULT_POLICY, POLICIES
from .checks.streams import PatternError, StreamCheck, StreamConfig, verdict_of
from .wasi.p2.stream import echo_sinks

__all__ = ["main"]

EXIT_TRAP = 134
EXIT_HANG = 124
EXIT_USAGE = 2
EXIT_CHECK = 1  # a --check found a violation
CHECKS = ("streams", "lock-order")
STREAM_FAULTS = ("lost-wakeup",)
USER_POLICIES = sorted(name for name in POLICIES if name != "replay")


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line instead of printing the usage block."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


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


def _timeout(text: str) -> float | None:
    """Seconds of the wall-clock backstop; 0 or "none" turns it off."""
    if text.strip().lower() == "none":
        return None
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, or none, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds (or none), got {text!r}")
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be positive seconds (0 or none: no backstop), got {text}")
    return v if v > 0 else None


def _slice(text: str) -> int:
    v = _positive_int(text)
    if v > MAX_SLICE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SLICE}, got {v}")
    return v


def _policy(text: str) -> str:
    if text == "replay":
        # The replay policy answers from a recorded schedule, which only a token carries.
        raise argparse.ArgumentTypeError("'replay' needs a recorded schedule: use `wasmconc replay GUEST TOKEN` "
                                         "with the token a failure printed")
    return text


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


def _common(p: argparse.ArgumentParser, *, schedule_opts: bool = True) -> None:
    p.add_argument("guest", metavar="GUEST.wasm", help="the guest module")
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
    p.add_argument("--level", choices=["waits", "atomics", "memory"], default="atomics",
                   help="instrumentation: scheduling points at waits only, also atomic RMWs (default), "
                        "also atomic loads/stores")
    p.add_argument("--max-steps", type=_positive_int, default=DEFAULT_MAX_STEPS,
                   help=f"scheduling steps before a run counts as a hang (default {DEFAULT_MAX_STEPS})")
    p.add_argument("--timeout", type=_timeout, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help="wall-clock backstop of each execution, in every mode: a guest still running then is "
                        f"ended cleanly and reported as a hang, exit 124 (default {DEFAULT_TIMEOUT:g}; "
                        "0 or none: no backstop)")
    p.add_argument("--check", dest="checks", action="append", choices=CHECKS, default=[],
                   help="streams: run on observed output streams and fail (exit 1, with the report) on a "
                        "stream protocol violation or an unexpected event sequence; lock-order: fail (exit 1, "
                        "with the report) on a lock-order inversion (potential deadlock)")
    p.add_argument("--stream-budget", type=_positive_int, default=StreamConfig.budget, metavar="BYTES",
                   help=f"bytes one check-write grants (default {StreamConfig.budget})")
    p.add_argument("--stream-flush-steps", type=_nonnegative_int, default=0, metavar="K",
                   help="a flush completes only after K device steps (default 0: at once)")
    p.add_argument("--stream-fault", dest="stream_faults", action="append", choices=STREAM_FAULTS, default=[],
                   help="lost-wakeup: stream readiness never fires again after the first flush")
    p.add_argument("--stream-expect", metavar="PATTERN", default=None,
                   help="with --check streams: the event sequence each stream must follow, e.g. "
                        "'(check-write write flush subscribe poll ready)+'")
    if schedule_opts:
        p.add_argument("--policy", type=_policy, choices=USER_POLICIES, default=DEFAULT_POLICY,
                       help=f"scheduling policy (default {DEFAULT_POLICY})")
        p.add_argument("--seed", type=_int, default=0, help="seed of the policy (default 0)")
        p.add_argument("--slice", type=_slice, default=DEFAULT_SLICE,
                       help="mean quantum in fuel mode, in wasm instructions counted at loop headers and calls "
                            f"(default {DEFAULT_SLICE})")
        p.add_argument("--depth", type=_positive_int, default=3, help="PCT bug depth (default 3)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wasmconc", description="Run and explore multithreaded WebAssembly/WASI guests.")
    sub = parser.add_subparsers(dest="command", metavar="{run,explore,replay}", parser_class=_Parser)
    run = sub.add_parser("run", help="run a guest once", description="Run a guest once.")
    run.add_argument("--preempt", choices=[p.value for p in Preempt], default="fuel",
                     help="fuel: deterministic quanta on one OS thread (default); epoch: time slices; "
                          "os: one OS thread per guest thread")
    _common(run)
    exp = sub.add_parser("explore", help="run many schedules, stop at the first failure",
                         description="Run up to N schedules; stop at the first failing one.")
    exp.add_argument("--schedules", type=_positive_int, default=100, help="schedules to run (default 100)")
    exp.add_argument("--expect-exit", type=_int, default=0, help="the exit code that counts as passing (default 0)")
    _common(exp)
    rep = sub.add_parser("replay", help="replay the schedule a token describes",
                         description="Replay the exact schedule of a replay token.")
    _common(rep, schedule_opts=False)
    rep.add_argument("token", metavar="TOKEN", help="a replay token printed by a failure")
    return parser


def _split_guest_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    argv = list(argv)
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


def _settings(ns: argparse.Namespace, preempt: Preempt) -> RunSettings:
    return RunSettings(
        preempt=preempt,
        policy=getattr(ns, "policy", DEFAULT_POLICY),
        seed=getattr(ns, "seed", 0),
        slice=getattr(ns, "slice", DEFAULT_SLICE),
        depth=getattr(ns, "depth", 3),
        level=ns.level,
        max_steps=ns.max_steps,
        timeout=ns.timeout,
    )


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
            exts.append(LockOrderCheck())
        return exts
    except (ValueError, PatternError) as exc:
        raise _UsageError(f"--stream-expect: {exc}" if isinstance(exc, PatternError) else str(exc)) from None


def _stream_failure(outcome: Outcome) -> str | None:
    """The stream check's report when it failed this outcome (None: passed or not checked)."""
    verdict = verdict_of(outcome)
    if verdict is None or not verdict.failed or not verdict.text:
        return None
    return verdict.text


def _guest(runner: Runner, ns: argparse.Namespace, extensions: list[Extension]) -> str | Program:
    """The guest; loaded first under --check lock-order, which refuses a guest it cannot see into."""
    for ext in extensions:
        if isinstance(ext, LockOrderCheck):
            settings = runner.settings
            program = runner.load(ns.guest, settings, extensions=extensions)
            problem = ext.problem_with(program)
            if problem is not None:
                raise ModuleError(problem)
            return program
    return str(ns.guest)


def _lock_order_failure(outcome: Outcome) -> str | None:
    """The lock-order check's report when it found an inversion (None: none, or not checked)."""
    check = lock_order_of(outcome)
    if check is None or not check.failed:
        return None
    return check.report()


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
    if ns.level != "atomics":
        parts += ["--level", ns.level]
    if ns.max_steps != DEFAULT_MAX_STEPS:
        parts += ["--max-steps", str(ns.max_steps)]
    if ns.timeout != DEFAULT_TIMEOUT:
        parts += ["--timeout", backstop.seconds(ns.timeout)]
    for check in ns.checks:
        parts += ["--check", check]
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


def _cmd_run(ns: argparse.Namespace, guest_args: list[str], preempt: Preempt, *, token: str | None = None) -> int:
    runner = Runner(_settings(ns, preempt))
    io = _io(ns, guest_args, stdin="inherit", passthrough=True)
    extensions = _extensions(ns, echo=True)
    if token is not None:
        outcome = runner.replay(ns.guest, token, io, extensions=extensions)
    else:
        outcome = runner.run(_guest(runner, ns, extensions), io, extensions=extensions)
    sys.stdout.flush()
    _print_report(outcome, ns.timeout)
    streams = _stream_failure(outcome)
    if streams is not None:
        print(streams, file=sys.stderr)
    locks = _lock_order_failure(outcome)
    if locks is not None:
        print(locks, file=sys.stderr)
    if (outcome.status is not Status.EXITED or streams is not None or locks is not None) and outcome.token:
        print(f"replay: {_replay_command(ns, guest_args, outcome.token)}", file=sys.stderr)
    if streams is not None and outcome.status in (Status.EXITED, Status.TRAPPED):
        return EXIT_CHECK  # a violation (a trap it caused) or an unexpected sequence
    if locks is not None and outcome.status is Status.EXITED:
        return EXIT_CHECK
    return _exit_code_of(outcome)


def _cmd_explore(ns: argparse.Namespace, guest_args: list[str]) -> int:
    runner = Runner(_settings(ns, Preempt.FUEL))
    io = _io(ns, guest_args, stdin=None, passthrough=False)
    extensions = _extensions(ns, echo=False)
    result = runner.explore(_guest(runner, ns, extensions), io, schedules=ns.schedules,
                            expect_exit=ns.expect_exit, extensions=extensions,
                            is_failure=lambda o: (o.failed(ns.expect_exit) or _stream_failure(o) is not None
                                                  or _lock_order_failure(o) is not None))
    o = result.outcome
    if result.failed:
        print(f"schedule {result.first_failure_index} failed:")
        print(o.report or o.summary())
        hint = _backstop_hint(o, ns.timeout)
        if hint:
            print(hint)
        streams = _stream_failure(o)
        if streams is not None:
            print(streams)
        locks = _lock_order_failure(o)
        if locks is not None:
            print(locks)
        if o.stdout:
            print("--- guest stdout ---")
            print(o.stdout.rstrip("\n"))
        if o.stderr:
            print("--- guest stderr ---")
            print(o.stderr.rstrip("\n"))
        print(f"replay: {_replay_command(ns, guest_args, o.token)}")
    print(f"explored {result.summary()}")
    check = lock_order_of(o)
    if check is not None and not result.failed:
        print(f"{check.summary()}; no lock-order inversion")
    return 1 if result.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    own, guest_args = _split_guest_args(args)
    parser = build_parser()
    try:
        ns = parser.parse_args(own)
        if ns.command is None:
            raise _UsageError("missing command (run, explore or replay)")
        if ns.command == "run":
            return _cmd_run(ns, guest_args, Preempt(ns.preempt))
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
