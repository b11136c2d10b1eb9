"""Recording: wrap any policy and keep every answer it gives, for the replay policy."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .base import NativePlan, Policy, PolicyConfig, SwitchReason

__all__ = ["Recording"]


class Recording:
    """A Policy that delegates to `policy` and records its decisions and slices."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        # The wrapped policy's name: reports should say which policy made the
        # schedule; the recording is replayed under the name "replay".
        self.name = policy.name
        # Step mode (schedulers/dfs.py) is the wrapped policy's, read by the serial driver.
        step_cost = getattr(policy, "step_access_cost", None)
        if step_cost is not None:
            self.step_access_cost = step_cost
        # Step footprints (dfs), told by the serial driver (runtime/drivers/footprints.py).
        log = getattr(policy, "footprint_log", None)
        if log is not None:
            self.footprint_log = log
        # Invariant: `decisions[i]` is the answer to the i-th `pick` and
        # `slices[i]` to the i-th `slice_for` of the current execution, only
        # answers actually returned (a call that raised records nothing).
        self.decisions: list[int] = []
        self.slices: list[int] = []

    def new_execution(self) -> None:
        self.policy.new_execution()
        # Fresh lists rather than clearing in place, so that a caller still
        # holding the previous execution's lists keeps them intact.
        self.decisions = []
        self.slices = []

    def pick(self, runnable: Sequence[int], current: int | None, reason: SwitchReason) -> int:
        thread = self.policy.pick(runnable, current, reason)
        self.decisions.append(thread)
        return thread

    def slice_for(self, thread: int) -> int:
        fuel = self.policy.slice_for(thread)
        self.slices.append(fuel)
        return fuel

    def charges_accesses(self, thread: int) -> bool:
        charges = getattr(self.policy, "charges_accesses", None)
        return True if charges is None else bool(charges(thread))

    def on_spawn(self, thread: int) -> None:
        self.policy.on_spawn(thread)

    def describe(self) -> dict[str, Any]:
        description = dict(self.policy.describe())
        description["recorded"] = {"decisions": len(self.decisions), "slices": len(self.slices)}
        return description

    def native_plan(self) -> NativePlan | None:
        """The wrapped policy's plan, recording into this execution's lists."""
        plan_of = getattr(self.policy, "native_plan", None)
        plan: NativePlan | None = plan_of() if plan_of is not None else None
        if plan is None:
            return None
        return dataclasses.replace(plan, decisions=self.decisions, slices=self.slices)

    def native_last(self) -> int | None:
        return self.policy.native_last()  # type: ignore[attr-defined, no-any-return]

    def native_sync(self, picks: int, last: int | None) -> None:
        self.policy.native_sync(picks, last)  # type: ignore[attr-defined]

    def replay_config(self, base: PolicyConfig | None = None) -> PolicyConfig:
        """A config for the "replay" policy that reproduces the current execution."""
        # Built on `base` (normally the recorded policy's own config) so that
        # the token still shows the seed and slice the schedule came from.
        return dataclasses.replace(
            base if base is not None else PolicyConfig(),
            decisions=tuple(self.decisions),
            slices=tuple(self.slices),
        )
