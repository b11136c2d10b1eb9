"""Deterministic fault injection for fd_read/fd_write/fd_pread/fd_pwrite.

Every decision comes from per-operation call counters and one
`random.Random(seed)`, consumed in call order and never by wall time, so
the same seed and the same (deterministically scheduled) call sequence
inject the same faults.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from .errno import Errno

__all__ = ["FAULT_TARGETS", "FaultInjector", "FaultPlan"]

FAULT_TARGETS = frozenset({"file", "stdin", "stdout", "stderr"})

Op = Literal["read", "write"]


@dataclass(frozen=True)
class FaultPlan:
    """What to inject. Counters are per operation ("read" counts fd_read and
    fd_pread, "write" counts fd_write and fd_pwrite), 1-based, and only count
    calls on `targets`.

    max_read / max_write: short transfers, at most that many bytes per call
      (with `random_short`, a uniformly drawn 1..max instead of always max).
    eintr_calls / eagain_calls: call numbers that fail with EINTR / EAGAIN.
    eintr_probability / eagain_probability: chance per call of failing.
    enospc_after: total bytes written to targets before writes fail with
      ENOSPC (the write that crosses the limit is cut short).
    """

    seed: int = 0
    max_read: int | None = None
    max_write: int | None = None
    random_short: bool = False
    eintr_calls: frozenset[int] = field(default_factory=frozenset)
    eintr_probability: float = 0.0
    eagain_calls: frozenset[int] = field(default_factory=frozenset)
    eagain_probability: float = 0.0
    enospc_after: int | None = None
    targets: frozenset[str] = FAULT_TARGETS

    def __post_init__(self) -> None:
        for name in ("max_read", "max_write"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"FaultPlan.{name} must be >= 1, got {value}")
        for name in ("eintr_probability", "eagain_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultPlan.{name} must be within [0, 1], got {value}")
        if self.enospc_after is not None and self.enospc_after < 0:
            raise ValueError("FaultPlan.enospc_after must be >= 0")
        unknown = set(self.targets) - FAULT_TARGETS
        if unknown:
            raise ValueError(
                f"FaultPlan.targets: unknown {sorted(unknown)}; use {sorted(FAULT_TARGETS)}"
            )
        # Accept any iterable of call numbers, store a frozenset.
        object.__setattr__(self, "eintr_calls", frozenset(self.eintr_calls))
        object.__setattr__(self, "eagain_calls", frozenset(self.eagain_calls))
        object.__setattr__(self, "targets", frozenset(self.targets))


    @classmethod
    def from_specs(cls, specs: Iterable[str]) -> FaultPlan:
        """A plan from "key=value" texts (the CLI's --wasi-fault), e.g. "max-write=100",
        "eintr-calls=1,3", "eagain-probability=0.1", "targets=file,stdout", "random-short".

        Keys are the field names, with "-" or "_". Raises ValueError naming the bad spec.
        """
        fields: dict[str, object] = {}
        for spec in specs:
            key, sep, value = spec.partition("=")
            name = key.strip().replace("-", "_")
            if name not in _SPEC_FIELDS:
                valid = ", ".join(sorted(k.replace("_", "-") for k in _SPEC_FIELDS))
                raise ValueError(f"unknown fault {key!r} in {spec!r} (valid: {valid})")
            kind = _SPEC_FIELDS[name]
            if kind == "bool" and not sep:
                value = "yes"
            elif not sep or not value:
                raise ValueError(f"fault {spec!r}: expected {key}=VALUE")
            try:
                fields[name] = _parse_spec_value(kind, value)
            except ValueError:
                raise ValueError(f"fault {spec!r}: {value!r} is not a valid {kind}") from None
        try:
            return cls(**fields)  # type: ignore[arg-type]
        except ValueError as exc:
            message = re.sub(r"FaultPlan\.(\w+)", lambda m: "fault " + m.group(1).replace("_", "-"), str(exc))
            raise ValueError(message) from None


_SPEC_FIELDS = {
    "seed": "int",
    "max_read": "int",
    "max_write": "int",
    "random_short": "bool",
    "eintr_calls": "list of call numbers",
    "eintr_probability": "probability",
    "eagain_calls": "list of call numbers",
    "eagain_probability": "probability",
    "enospc_after": "int",
    "targets": "list of targets",
}


def _parse_spec_value(kind: str, value: str) -> object:
    if kind == "int":
        return int(value, 0)
    if kind == "probability":
        return float(value)
    if kind == "bool":
        if value.lower() in ("1", "yes", "true", "on"):
            return True
        if value.lower() in ("0", "no", "false", "off"):
            return False
        raise ValueError(value)
    items = [v.strip() for v in value.split(",") if v.strip()]
    if kind == "list of call numbers":
        return frozenset(int(v, 0) for v in items)
    return frozenset(items)


class FaultInjector:
    """The mutable side of a plan: counters, the seeded generator, bytes written."""

    def __init__(self, plan: FaultPlan | None) -> None:
        self.plan = plan
        self._lock = threading.Lock()
        # Seeded at the first draw (only a plan's features draw): seeding a Mersenne Twister cost as much
        # as the rest of a world's set-up, made for every execution of an exploration.
        self._rng: random.Random | None = None
        self._calls = {"read": 0, "write": 0}
        self._written = 0
        self.injected: list[tuple[Op, int, str]] = []  # (op, call number, what)

    def _draws(self) -> random.Random:
        """The plan's generator, seeded with its seed at the first draw (the stream it always was)."""
        if self._rng is None:
            self._rng = random.Random(self.plan.seed if self.plan is not None else 0)
        return self._rng

    def admit(self, op: Op, target: str, requested: int) -> int | Errno:
        """How many bytes this call may move (<= requested), or the errno to fail with."""
        plan = self.plan
        if plan is None or target not in plan.targets:
            return requested
        with self._lock:
            self._calls[op] += 1
            n = self._calls[op]
            # Draws happen only for features in use, so enabling one feature
            # does not shift the random sequence of an unrelated plan.
            if n in plan.eintr_calls or (
                plan.eintr_probability and self._draws().random() < plan.eintr_probability
            ):
                self.injected.append((op, n, "EINTR"))
                return Errno.INTR
            if n in plan.eagain_calls or (
                plan.eagain_probability and self._draws().random() < plan.eagain_probability
            ):
                self.injected.append((op, n, "EAGAIN"))
                return Errno.AGAIN
            allowed = requested
            cap = plan.max_read if op == "read" else plan.max_write
            if cap is not None and allowed > 0:
                limit = self._draws().randint(1, min(cap, allowed)) if plan.random_short else cap
                if limit < allowed:
                    self.injected.append((op, n, f"short {limit}/{allowed}"))
                    allowed = limit
            if op == "write" and plan.enospc_after is not None and allowed > 0:
                room = plan.enospc_after - self._written
                if room <= 0:
                    self.injected.append((op, n, "ENOSPC"))
                    return Errno.NOSPC
                if room < allowed:
                    self.injected.append((op, n, f"short {room}/{allowed} (disk full)"))
                    allowed = room
                # Reserve now: the write is about to happen with this size.
                self._written += allowed
            return allowed

    def refund(self, op: Op, target: str, unused: int) -> None:
        """Give back reserved ENOSPC room a write did not use (it wrote less, or failed)."""
        plan = self.plan
        if plan is None or plan.enospc_after is None or target not in plan.targets:
            return
        if op == "write" and unused > 0:
            with self._lock:
                self._written -= unused
