"""Helpers shared by the policies: stable seeds, named random streams, slice lengths.

Nothing here depends on `hash()` or on the process: a seed printed by one run
means the same schedule in any other process, on any supported Python.
"""

from __future__ import annotations

import hashlib
import operator
import random

__all__ = ["MAX_SEED", "derive_seed", "random_slice", "require_positive", "stream"]

# Seeds are 63-bit so that they fit a signed 64-bit integer anywhere a token
# travels (JSON readers that parse into int64/double-checked ints, SQLite,
# command lines of tools written in other languages).
MAX_SEED = (1 << 63) - 1

# blake2b's personalisation keeps our digests apart from any other use of the
# same inputs; it is part of the seed format, so changing it changes every
# derived seed (a token-version bump).
_PERSON = b"wasmconc-sched"


def _digest63(*parts: str) -> int:
    """A 63-bit integer from a blake2b digest of `parts` (stable everywhere)."""
    # "\x1f" (unit separator) never occurs in a decimal number or in our stream
    # labels, so the encoding of the parts is unambiguous.
    data = "\x1f".join(parts).encode("ascii")
    digest = hashlib.blake2b(data, digest_size=8, person=_PERSON).digest()
    return int.from_bytes(digest, "big") >> 1


def derive_seed(base_seed: int, index: int) -> int:
    """The seed of schedule number `index` of an exploration started from `base_seed`."""
    # Decimal text encodes any Python int (negative, or wider than 64 bits)
    # exactly, so distinct (base, index) pairs never share an input.
    base = operator.index(base_seed)
    i = operator.index(index)
    return _digest63("schedule", str(base), str(i))


def stream(seed: int, label: str) -> random.Random:
    """An independent random stream named `label` within the schedule `seed`.

    Each policy draws each kind of answer (thread choices, slice lengths,
    priorities, ...) from its own stream, so that asking one more question
    of one kind never shifts the answers of another kind: e.g. a runtime
    change that asks `slice_for` one extra time leaves the thread choices of
    every recorded seed intact. Hashing also avoids `random.Random(n)`
    seeding with `abs(n)`, which would make seeds n and -n the same schedule.
    """
    return random.Random(_digest63("stream", label, str(operator.index(seed))))


def random_slice(rng: random.Random, mean: int) -> int:
    """A quantum length uniform in [1, 2*mean - 1] (mean exactly `mean`, always >= 1)."""
    # Uniform rather than log-uniform or geometric: every fuel offset within a
    # quantum is then equally likely to be the preemption point, so a racy
    # window at a fixed fuel offset inside a loop is hit with a probability
    # proportional to its width whatever its phase, and the mean equals
    # `PolicyConfig.slice` so "slice" costs the same number of switches under
    # every policy. `randrange` (built on `getrandbits`) is stable across
    # Python versions, unlike the float-based distributions.
    return 1 + rng.randrange(2 * mean - 1)


def require_positive(policy: str, field: str, value: int) -> int:
    """`value` if it is >= 1, else a ValueError naming the policy and the field."""
    if value < 1:
        raise ValueError(f"{policy} policy: {field} must be >= 1, got {value}")
    return value
