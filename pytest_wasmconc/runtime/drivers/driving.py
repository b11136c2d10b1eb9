"""Run an execution under the driver its settings ask for, and stamp the schedule on its outcome.

Shared by core modules (runner.py) and components (components.py).
"""

from __future__ import annotations

from ...instrument.abi import HOT_ACCESS_COST
from ...schedulers import make_policy
from ...schedulers.base import Policy, PolicyConfig
from ...schedulers.recording import Recording
from ..machine.execution import Execution
from .os_threads import run_os
from ..outcome import Outcome
from .serial import run_serial
from ..settings import Preempt, RunSettings

__all__ = ["POLICY_STATE", "SEARCH_FOOTPRINTS", "SEARCH_PICKS", "drive", "policy_config", "stamp_schedule"]

POLICY_STATE = "policy"
# Outcome.extra's key for the decisions a search policy (dfs) took, each with the runnable threads
# and the thread that could have continued: what the bounded search reads back (runner.explore).
SEARCH_PICKS = "search_picks"
# ... and what the step chosen at each of them touched (drivers/footprints.py; None: unknown).
SEARCH_FOOTPRINTS = "search_footprints"


def policy_config(s: RunSettings) -> PolicyConfig:
    return PolicyConfig(seed=s.seed, slice=s.slice, depth=s.depth, decisions=s.decisions, slices=s.slices,
                        pct_steps=s.pct_steps, pct_choices=s.pct_choices,
                        hot_cost=HOT_ACCESS_COST if s.hot_sites else 0, free_accesses=s.free_accesses)


def drive(ex: Execution, settings: RunSettings, policy: Policy | None = None) -> Recording | None:
    """Run `ex` to its end; the recorded schedule in the serial modes, None in OS mode.

    `policy`: answer with this one instead of the settings' (the shrinker's candidate schedules,
    which no token names: their result is replayed under the replay policy)."""
    if settings.preempt is Preempt.OS:
        run_os(ex)
        return None
    recording = Recording(policy if policy is not None else make_policy(settings.policy, policy_config(settings)))
    run_serial(ex, recording)
    return recording


def stamp_schedule(outcome: Outcome, settings: RunSettings, recording: Recording | None) -> None:
    """Record the decisions taken (the runner binds the replay token to the guest)."""
    if recording is not None:
        outcome.decisions = tuple(recording.decisions)
        outcome.slices = tuple(recording.slices)
        # What the policy says of its execution (PCT: its step count, which an explorer sizes k from).
        outcome.extra[POLICY_STATE] = recording.describe()
        execution = getattr(recording.policy, "execution", None)
        if execution is not None:
            outcome.extra[SEARCH_PICKS] = execution()
        footprints = getattr(recording.policy, "execution_footprints", None)
        if footprints is not None:
            outcome.extra[SEARCH_FOOTPRINTS] = footprints()
