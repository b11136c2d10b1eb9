"""Scheduling policies, one module each, selected by name (see `base` for the interface).

Reproducibility contract: a policy built by `make_policy(name, config)` gives,
after `new_execution()`, the same answers to the same question sequence, no
matter what executions it ran before. Exploration therefore varies schedules
through the config, `seed=derive_seed(base_seed, i)` for schedule i, and a
failing schedule replays from (name, config) alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._common import derive_seed
from .base import Policy, PolicyConfig, PolicyError, SwitchReason
from .dfs import Dfs
from .pct import DEFAULT_STEPS, Pct, PctConfig
from .portfolio import Portfolio
from .random_walk import RandomWalk
from .recording import Recording
from .replay import Replay
from .round_robin import RoundRobin

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_STEPS",
    "Dfs",
    "POLICIES",
    "Pct",
    "PctConfig",
    "Policy",
    "PolicyConfig",
    "PolicyError",
    "Portfolio",
    "RandomWalk",
    "Recording",
    "Replay",
    "RoundRobin",
    "SwitchReason",
    "derive_seed",
    "make_policy",
    "replays_from_decisions",
]

# Every class here takes a single PolicyConfig and implements Policy (checked
# statically below). Keys are the classes' `name` attributes.
POLICIES: dict[str, type] = {
    RoundRobin.name: RoundRobin,
    RandomWalk.name: RandomWalk,
    Pct.name: Pct,
    Portfolio.name: Portfolio,
    Replay.name: Replay,
    Dfs.name: Dfs,
}

# Random until measured otherwise: it needs no estimate of the execution
# length (PCT's k) and no recording, and its random slices reach windows that
# a fixed round-robin quantum never interrupts.
DEFAULT_POLICY = "random"


def make_policy(name: str, config: PolicyConfig) -> Policy:
    """The policy registered as `name`, built from `config`."""
    try:
        cls = POLICIES[name]
    except KeyError:
        valid = ", ".join(sorted(POLICIES))
        raise ValueError(f"unknown scheduling policy {name!r}; valid names: {valid}") from None
    policy: Policy = cls(config)
    return policy


def replays_from_decisions(name: str) -> bool:
    """Whether a token of this policy keeps the decision list and replays it under the policy itself
    ("replay", and "dfs", whose schedules are their decisions), rather than from its seed."""
    cls = POLICIES.get(name)
    return cls is Replay or bool(getattr(cls, "replays_from_decisions", False))


if TYPE_CHECKING:
    # Static proof that every registered class (and the wrapper) satisfies the
    # Policy protocol; never executed.
    _conforming: tuple[Policy, ...] = (
        RoundRobin(PolicyConfig()),
        RandomWalk(PolicyConfig()),
        Pct(PolicyConfig()),
        Portfolio(PolicyConfig()),
        Replay(PolicyConfig()),
        Dfs(PolicyConfig()),
        Recording(RoundRobin(PolicyConfig())),
    )
