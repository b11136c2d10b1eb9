"""One settings object for everything that changes how a guest runs.

`EngineSettings` is what the compiled code depends on (it keys the compile
cache and goes into replay tokens); `RunSettings` is everything else about
one execution.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field, replace

from .errors import ConfigError

__all__ = ["DEFAULT_MAX_STEPS", "DEFAULT_SHRINK_TIME", "DEFAULT_SLICE", "DEFAULT_TIMEOUT", "MAX_SLICE",
           "EngineSettings", "Preempt", "RunSettings"]

DEFAULT_SLICE = 10_000
# The largest quantum accepted anywhere (settings, tokens, front ends). The
# counter is an i64 and the random policy draws below 2*slice; 2**40 counter
# units is minutes of guest work in one quantum, far beyond any useful slice.
MAX_SLICE = 1 << 40
# The step budget counts scheduling steps without progress (a thread started,
# finished, or released by another), so long real work never exhausts it
# while a spin loop or a livelock does: a yield-spinner reaches it in ~8 s.
DEFAULT_MAX_STEPS = 1_000_000
# The wall-clock backstop every execution gets unless it asks for none: a
# guest spinning in epoch or os mode, or blocked on input or in a host function
# in any mode, would otherwise never end. Five minutes: far beyond any run the
# step budget lets through, so real work is not cut, yet a stuck CI job ends.
DEFAULT_TIMEOUT = 300.0
LEVELS = ("waits", "atomics", "memory", "shared")  # instrument.InstrumentLevel's values (without importing it)
DEFAULT_LEVEL = "shared"
DEFAULT_DEPTH = 3  # PCT's bug depth
# Seconds an exploration may spend shrinking a failing schedule (shrinking/): the searches measured
# end well within it (a lost update: 1-2 s), and a failing test should not take much longer to report.
DEFAULT_SHRINK_TIME = 10.0
DEFAULT_ASYNC_STACK = 8 * 1024 * 1024  # a 10k-deep host recursion overflowed the default


class Preempt(str, enum.Enum):
    """How guest threads are interleaved."""

    FUEL = "fuel"  # deterministic: fuel quanta on one OS thread
    EPOCH = "epoch"  # time slices on one OS thread (not deterministic)
    OS = "os"  # one OS thread per guest thread, truly parallel

    @classmethod
    def parse(cls, value: str) -> Preempt:
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(p.value for p in cls)
            raise ConfigError(f"invalid preempt mode {value!r} (valid: {valid})") from None


@dataclass(frozen=True)
class EngineSettings:
    """What the engine (and therefore the compiled code) is configured with."""

    # Wasmtime's fuel metering (components only: they cannot be instrumented).
    fuel: bool = False
    epochs: bool = False
    # The instrumenter's preemption counter (instrument/preempt.py): how fuel
    # mode slices core modules, much cheaper than Wasmtime's fuel.
    counter: bool = True
    threads: bool = True
    async_stack_size: int = DEFAULT_ASYNC_STACK
    # Further wasm features guests from real toolchains use.
    simd: bool = True
    bulk_memory: bool = True
    multi_memory: bool = True
    memory64: bool = True
    tail_call: bool = True
    exceptions: bool = True
    reference_types: bool = True

    @classmethod
    def for_mode(cls, preempt: Preempt) -> EngineSettings:
        if preempt is Preempt.OS:
            # Threads run freely; epochs only let a spinning thread notice the end.
            return cls(counter=False, fuel=False, epochs=True)
        # Fuel and epoch mode both slice core modules by the instrumented
        # counter (epoch mode ends a quantum when its time is up as well).
        return cls(counter=True, fuel=False, epochs=False)

    @classmethod
    def for_components(cls, preempt: Preempt) -> EngineSettings:
        """Components are compiled as they are: Wasmtime's own fuel or epochs slice them."""
        if preempt is Preempt.FUEL:
            return cls(counter=False, fuel=True, epochs=False)
        return cls(counter=False, fuel=False, epochs=True)

    def fingerprint(self) -> str:
        """A short stable string of every field (goes into cache keys and tokens)."""
        parts = [f"{k}={int(v) if isinstance(v, bool) else v}" for k, v in sorted(vars(self).items())]
        return ",".join(parts)

    def short_fingerprint(self) -> str:
        """A 10-hex-digit digest of `fingerprint()` (for replay tokens)."""
        import hashlib

        return hashlib.sha256(self.fingerprint().encode()).hexdigest()[:10]


@dataclass(frozen=True)
class RunSettings:
    """How one execution runs."""

    preempt: Preempt = Preempt.FUEL
    policy: str = "random"
    seed: int = 0
    slice: int = DEFAULT_SLICE
    depth: int = DEFAULT_DEPTH
    level: str = DEFAULT_LEVEL
    max_steps: int | None = DEFAULT_MAX_STEPS
    timeout: float | None = DEFAULT_TIMEOUT  # None: no backstop (only on explicit request)
    epoch_tick_ms: float = 1.0
    decisions: tuple[int, ...] = field(default=(), repr=False)
    slices: tuple[int, ...] = field(default=(), repr=False)
    # Race-directed exploration (the `directed` module): the visible accesses a race check found
    # racy, as byte offsets in the guest, charge the counter far more than others (shared level).
    hot_sites: tuple[int, ...] = field(default=(), repr=False)
    # PCT's k, the expected number of steps of one execution (None: the policy's default); with hot
    # sites PCT's steps are quantum ends, and the portfolio's classic PCT, which counts every
    # decision with a choice, takes its own k from `pct_choices`.
    pct_steps: int | None = None
    pct_choices: int | None = None
    # A replayed schedule's threads whose plain accesses were free (schedulers/random_walk.py).
    free_accesses: tuple[int, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.preempt, Preempt):
            object.__setattr__(self, "preempt", Preempt.parse(str(self.preempt)))
        for name in ("seed", "slice", "depth", "max_steps"):
            value = getattr(self, name)
            if (value is not None or name != "max_steps") and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{name.replace('_', '-')} must be a whole number, got {value!r}")
        if self.timeout is not None and (isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float))
                                         or not math.isfinite(self.timeout)):
            raise ConfigError(f"timeout must be a finite number of seconds (None: no backstop), got {self.timeout!r}")
        if getattr(self.level, "value", self.level) not in LEVELS:
            raise ConfigError(f"invalid instrumentation level {self.level!r} (valid: {', '.join(LEVELS)})")
        from ..schedulers import POLICIES

        if self.policy not in POLICIES:
            raise ConfigError(f"unknown scheduling policy {self.policy!r} (valid: {', '.join(sorted(POLICIES))})")
        if not 1 <= self.slice <= MAX_SLICE:
            raise ConfigError(f"slice must be a whole number from 1 to {MAX_SLICE}, got {self.slice}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max-steps must be positive, got {self.max_steps}")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"timeout must be positive seconds (None: no backstop), got {self.timeout}")
        if self.depth < 1:
            raise ConfigError(f"depth must be >= 1, got {self.depth}")
        for name in ("pct_steps", "pct_choices"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name.replace('_', '-')} must be a whole number >= 1, got {value!r}")
        if any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in self.hot_sites):
            raise ConfigError("hot sites must be byte offsets (whole numbers >= 0)")
        if any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in self.free_accesses):
            raise ConfigError("free-access threads must be thread ids (whole numbers >= 0)")

    @property
    def engine(self) -> EngineSettings:
        return EngineSettings.for_mode(self.preempt)

    def with_(self, **changes: object) -> RunSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def with_seed(self, seed: int) -> RunSettings:
        """`with_(seed=seed)` for an exploration's every schedule: a copy with only the seed checked (the other
        fields were checked when this one was made; `replace` would check them all again)."""
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be a whole number, got {seed!r}")
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        object.__setattr__(copy, "seed", seed)
        return copy
