"""The runtime's front door: load a guest, run it once, explore schedules, replay a token.

The CLI and the pytest plugin are both thin layers over `Runner`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..schedulers import PolicyError, derive_seed
from .wasmtime import capi, traphandlers
from .loading.cache import CompileCache
from .components import ComponentProgram, execute_component, is_component, load_component
from .drivers.driving import drive, stamp_schedule
from .errors import ConfigError, ReplayError
from .machine.execution import Execution
from .extensions import Extension, Rerun, load_passes
from .hostapi import HostFunction
from .outcome import Outcome
from .loading.program import WASI_P1, GuestSource, Program, load_program
from .report import append_trace_tail
from .settings import EngineSettings, Preempt, RunSettings
from .token import GuestIdentity, ReplayToken, decode_token, encode_token
from .userhost.userimports import HostRun, ImportsSpec
from ..wasi.native import NativeWasi

__all__ = ["Exploration", "GuestIO", "Runner"]

Stdin = bytes | str | os.PathLike | None


@dataclass
class GuestIO:
    """What the guest sees of the world: argv, environment, preopened dirs, stdio."""

    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    dirs: Sequence[tuple[str, str]] = ()  # (host directory, guest path)
    stdin: Stdin = None  # bytes, a file path, "inherit", or None (empty)
    passthrough: bool = False  # also copy guest output to the real stdout/stderr
    wasi: str = "sandbox"  # "sandbox" (the project's shared WASI) or "native" (wasmtime's)
    program_name: str | None = None  # argv[0]; the guest file name by default
    wasi_options: Mapping[str, Any] = field(default_factory=dict)  # extra WasiConfig fields (faults, ...)

    def __post_init__(self) -> None:
        if self.wasi not in ("sandbox", "native"):
            raise ConfigError(f"invalid WASI implementation {self.wasi!r} (valid: sandbox, native)")
        if not isinstance(self.wasi_options, Mapping):
            raise ConfigError(f"WASI options must be a mapping, not {type(self.wasi_options).__name__}")
        if self.wasi == "native" and self.wasi_options:
            raise ConfigError(f"WASI options {sorted(self.wasi_options)} need the sandbox WASI; "
                              "wasmtime's own (native) cannot apply them")
        if isinstance(self.args, (str, bytes)) or not isinstance(self.args, Iterable):
            raise ConfigError(f"guest args must be a sequence of strings, not {type(self.args).__name__} "
                              f"{self.args!r}")
        for i, arg in enumerate(self.args):
            if not isinstance(arg, str):
                raise ConfigError(f"guest args[{i}] must be a str, not {type(arg).__name__} {arg!r}")
            if "\0" in arg:
                raise ConfigError(f"guest args[{i}] {arg!r} contains a NUL byte")
        if not isinstance(self.env, Mapping):
            raise ConfigError(f"guest env must be a mapping of str to str, not {type(self.env).__name__}")
        for name, value in self.env.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise ConfigError(f"guest env {name!r}={value!r}: names and values must be str")
        if isinstance(self.dirs, (str, bytes)) or not isinstance(self.dirs, Iterable):
            raise ConfigError(f"preopened dirs must be (host directory, guest path) pairs, not {self.dirs!r}")
        for entry in self.dirs:
            if not isinstance(entry, (tuple, list)) or len(entry) != 2:
                raise ConfigError(f"preopened dir {entry!r}: expected a (host directory, guest path) pair")
            host, guest = entry
            if not isinstance(host, (str, os.PathLike)):
                raise ConfigError(f"preopened dir {entry!r}: the host directory must be a path, "
                                  f"not {type(host).__name__}")
            if not isinstance(guest, str) or not guest or "\0" in guest:
                raise ConfigError(f"preopened dir {os.fspath(host)}: the guest path must be a non-empty str, "
                                  f"got {guest!r}")
            if not Path(host).exists():
                raise ConfigError(f"preopened directory {os.fspath(host)}: no such directory")
            if not Path(host).is_dir():
                raise ConfigError(f"preopened directory {os.fspath(host)}: not a directory")
        if self.stdin is not None and not isinstance(self.stdin, (bytes, bytearray, str, os.PathLike)):
            raise ConfigError(f"guest stdin must be bytes, a file path, 'inherit' or None, "
                              f"not {type(self.stdin).__name__}")


@dataclass
class Exploration:
    """The result of exploring many schedules of one guest."""

    outcome: Outcome  # the first failing one, or the last when all passed
    schedules_run: int
    failed: bool
    elapsed: float
    distinct: Counter[str]
    first_failure_index: int | None = None

    @property
    def rate(self) -> float:
        return self.schedules_run / self.elapsed if self.elapsed > 0 else float("inf")

    def summary(self) -> str:
        kinds = ", ".join(f"{k} x{n}" for k, n in self.distinct.most_common())
        return (f"{self.schedules_run} schedule{'s' if self.schedules_run != 1 else ''} in {self.elapsed:.2f} s "
                f"({self.rate:.0f}/s); outcomes: {kinds}")


class Runner:
    """Loads guests (through the compile cache) and executes them under `RunSettings`."""

    def __init__(self, settings: RunSettings | None = None, *, cache: CompileCache | None = None) -> None:
        self.settings = settings or RunSettings()
        self.cache = cache if cache is not None else CompileCache()

    # -- loading -------------------------------------------------------------

    def load(self, guest: GuestSource, settings: RunSettings | None = None, *,
             extensions: Sequence[Extension] = ()) -> Program:
        s = settings or self.settings
        if is_component(guest):  # a WASI 0.2 component (components.py): no instrumentation passes
            return load_component(guest, EngineSettings.for_components(s.preempt))  # type: ignore[return-value]
        return load_program(guest, s.engine, level=s.level, cache=self.cache, passes=load_passes(extensions))

    # -- one execution ----------------------------------------------------------

    def run(
        self,
        guest: GuestSource,
        io: GuestIO | None = None,
        *,
        settings: RunSettings | None = None,
        host_functions: Iterable[HostFunction] = (),
        extensions: Sequence[Extension] = (),
        imports: ImportsSpec | None = None,
    ) -> Outcome:
        """Run once; `imports` are user host functions {"module": {"name": callable}} (userimports.py)."""
        s = settings or self.settings
        program = self.load(guest, s, extensions=extensions)
        return self.execute(program, io or GuestIO(), s, list(host_functions), extensions=extensions,
                            imports=imports)

    def execute(self, program: Program, io: GuestIO, settings: RunSettings,
                host_functions: Sequence[HostFunction] = (), *,
                extensions: Sequence[Extension] = (), imports: ImportsSpec | None = None) -> Outcome:
        traphandlers.ensure()  # a guest trap must reach Wasmtime, whatever replaced its handlers
        if settings.policy == "replay" and settings.preempt is not Preempt.OS and not settings.slices:
            raise ConfigError("the replay policy needs a recorded schedule: replay the token a failure printed "
                              "(Runner.replay, `wasmconc replay`, --wasm-replay)")
        if isinstance(program, ComponentProgram):
            with _divergence_is_a_replay_error():
                outcome = execute_component(program, io, settings, host_functions, extensions=extensions)
            _stamp_token(outcome, settings, program, io)
            return outcome
        if extensions:
            program = self.load(program, settings, extensions=extensions)  # as is when already instrumented
        for fn in host_functions:
            if not isinstance(fn, HostFunction):
                raise ConfigError(f"host_functions must be HostFunction objects, got {type(fn).__name__} {fn!r}")
        attachments = [ext.attach(program, settings) for ext in extensions]
        extra = [fn for a in attachments for fn in a.host_functions()]
        user = HostRun.create(program, imports, settings)  # checks them against the guest's imports
        if user is not None:
            extra += user.functions()
        argv = [io.program_name or Path(program.name).name] + list(io.args)
        wasi = _make_wasi(io, argv)
        native = wasi if getattr(wasi, "native", False) else None
        started = time.perf_counter()
        try:
            ex = Execution(program, settings, _wasi_functions(wasi, program) + list(host_functions) + extra,
                           native_wasi=native, observers=attachments)
            wasi.set_waker(ex.poke)
            if user is not None:
                user.attach(ex)
            with _divergence_is_a_replay_error():
                recording = drive(ex, settings)
        finally:
            wasi.close()
            if user is not None:
                user.close()
        outcome = ex.outcome(wasi.stdout, wasi.stderr, time.perf_counter() - started)
        if user is not None:
            user.finish(outcome)
        outcome.trace = list(getattr(wasi, "trace", []))
        append_trace_tail(outcome, dropped=getattr(wasi, "trace_dropped", 0))
        stamp_schedule(outcome, settings, recording)
        _stamp_token(outcome, settings, program, io)
        if ex.stuck_threads:
            outcome.report += ("\nwarning: these guest threads did not stop (a host function is blocking "
                               f"outside the runtime's control): {', '.join(ex.stuck_threads)}")
        if attachments:
            def run_again(exts: Sequence[Extension]) -> Outcome:
                return self.execute(program, io, settings, host_functions, extensions=exts, imports=imports)

            # Only fuel mode is deterministic: the same execution again.
            rerun: Rerun | None = run_again if settings.preempt is Preempt.FUEL else None
            for a in attachments:
                a.finished(outcome, rerun)
        return outcome

    # -- many executions -----------------------------------------------------------

    def explore(
        self,
        guest: GuestSource,
        io: GuestIO | None = None,
        *,
        schedules: int = 100,
        expect_exit: int | None = 0,
        settings: RunSettings | None = None,
        host_functions: Iterable[HostFunction] = (),
        start: int = 0,
        step: int = 1,
        is_failure: Callable[[Outcome], bool] | None = None,
        extensions: Sequence[Extension] = (),
        imports: ImportsSpec | None = None,
    ) -> Exploration:
        """Run schedules start, start+step, ... (up to `schedules` of them); stop at the first failure.

        Schedule i uses seed derive_seed(settings.seed, i), so any worker can
        run any slice of an exploration and every failure replays from its token.
        """
        if isinstance(schedules, bool) or not isinstance(schedules, int) or schedules < 1:
            raise ConfigError(f"schedules must be a whole number >= 1, got {schedules!r}")
        if expect_exit is not None and (isinstance(expect_exit, bool) or not isinstance(expect_exit, int)):
            raise ConfigError(f"expect_exit must be an exit code (int) or None, got {expect_exit!r}")
        base = settings or self.settings
        program = self.load(guest, base, extensions=extensions)
        io = io or GuestIO()
        fns = list(host_functions)
        failed_check = is_failure or (lambda o: o.failed(expect_exit))
        distinct: Counter[str] = Counter()
        t0 = time.perf_counter()
        outcome: Outcome | None = None
        count = 0
        # One SIGINT handler for the whole exploration (each execution would install its own).
        with capi.interrupts_deferred():
            for n in range(schedules):
                index = start + n * step
                s = base.with_(seed=derive_seed(base.seed, index)) if base.preempt is Preempt.FUEL else base
                outcome = self.execute(program, io, s, fns, extensions=extensions, imports=imports)
                count += 1
                distinct[outcome.summary()] += 1
                if failed_check(outcome):
                    return Exploration(outcome, count, True, time.perf_counter() - t0, distinct, index)
        assert outcome is not None
        return Exploration(outcome, count, False, time.perf_counter() - t0, distinct)

    def replay(self, guest: GuestSource, token: str, io: GuestIO | None = None, *,
               host_functions: Iterable[HostFunction] = (), extensions: Sequence[Extension] = (),
               imports: ImportsSpec | None = None) -> Outcome:
        """Run `guest` on the schedule `token` describes; ReplayError when it was made for another guest,
        other arguments, another wasmtime or engine configuration, or when the execution leaves it."""
        tok = decode_token(token)
        tok.check_compatible()
        io = io or GuestIO()
        settings = tok.apply(self.settings)
        program = self.load(guest, settings, extensions=extensions)
        tok.check_guest(GuestIdentity.of(program, io.args))
        return self.execute(program, io, settings, list(host_functions), extensions=extensions, imports=imports)


@contextlib.contextmanager
def _divergence_is_a_replay_error() -> Iterator[None]:
    """A replayed schedule that stops fitting the execution is the token's problem, told in one line."""
    try:
        yield
    except PolicyError as exc:
        raise ReplayError(f"the replayed schedule does not fit this execution: {exc} (the guest's input, "
                          "files or environment differ from the run that made the token, or the guest is "
                          "not deterministic)") from None


def _stamp_token(outcome: Outcome, settings: RunSettings, program: Any, io: GuestIO) -> None:
    """The token that replays this execution: its schedule, bound to this guest and its arguments."""
    if settings.preempt is not Preempt.FUEL:
        return
    # Seeded policies replay from (policy, seed, ...); only "replay" needs the decision list.
    keep = settings.policy == "replay"
    decisions, slices = (outcome.decisions, outcome.slices) if keep else ((), ())
    guest = GuestIdentity.of(program, io.args)
    outcome.set_token_factory(
        lambda: encode_token(ReplayToken.for_run(settings, decisions, slices, guest=guest)))


def _wasi_functions(wasi: Any, program: Program) -> list[HostFunction]:
    """The WASI host functions this program imports."""
    return list(wasi.functions(only=[f.name for f in program.func_imports if f.module == WASI_P1]))


def _make_wasi(io: GuestIO, argv: list[str]) -> Any:
    dirs = [(str(h), g) for h, g in io.dirs]
    if io.wasi == "native":
        return NativeWasi(argv, dict(io.env), dirs, io.stdin, io.passthrough)
    import dataclasses

    from ..wasi import Preopen, WasiConfig, WasiPreview1
    from ..wasi.config import WasiConfigError

    known = {f.name for f in dataclasses.fields(WasiConfig)} - {"args", "env", "preopens", "stdin",
                                                                "stdout_passthrough"}
    unknown = sorted(str(k) for k in io.wasi_options if k not in known)
    if unknown:
        raise ConfigError(f"unknown WASI option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                          f"(valid: {', '.join(sorted(known))})")
    try:
        cfg = WasiConfig(
            args=argv,
            env=dict(io.env),
            preopens=[Preopen(h, g) for h, g in dirs],
            stdin=io.stdin,
            stdout_passthrough=io.passthrough,
            **dict(io.wasi_options),
        )
        return WasiPreview1(cfg)
    except WasiConfigError as exc:
        raise ConfigError(f"WASI: {exc}") from None
