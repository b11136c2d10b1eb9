"""Differential test over random modules from `wasm-tools smith`.

A fixed seed corpus keeps it reproducible (for a given wasm-tools version).
For every generated module the instrumenter must: decode instruction
boundaries exactly as `wasm-tools dump` does; find exactly the atomic
instructions `wasm-tools print` shows; produce a module that validates at
every level; return a module without atomics unchanged; and keep a module
valid when every function index is shifted.
"""

from __future__ import annotations

from collections.abc import Iterator

import random
import re
from collections import Counter

import pytest
from instr_wasm_support import (
    dump_instruction_offsets,
    force_shift,
    our_instruction_offsets,
    print_wat,
    run_wasm_tools,
    validation_error,
)

from pytest_wasmconc.instrument import InstrumentLevel, instrument

COMMON = [
    "--threads-enabled",
    "true",
    "--simd-enabled",
    "true",
    "--relaxed-simd-enabled",
    "true",
    "--bulk-memory-enabled",
    "true",
    "--reference-types-enabled",
    "true",
    "--multi-value-enabled",
    "true",
    "--tail-call-enabled",
    "true",
    "--exceptions-enabled",
    "true",
    "--gc-enabled",
    "true",
    "--memory64-enabled",
    "true",
    "--max-memories",
    "3",
    "--extended-const-enabled",
    "true",
    "--wide-arithmetic-enabled",
    "true",
    "--saturating-float-to-int-enabled",
    "true",
    "--sign-extension-ops-enabled",
    "true",
    "--custom-page-sizes-enabled",
    "true",
    "--generate-custom-sections",
    "true",
]
CONFIGS = {
    # every proposal wasmtime 50 implements, all instruction kinds
    "everything": COMMON,
    # mostly memory and control instructions, so atomics are frequent
    "atomics": COMMON
    + [
        "--allowed-instructions",
        "memory,control,variable,parametric,reference,table",
        "--min-funcs",
        "2",
        "--min-memories",
        "1",
    ],
}
SEEDS = range(120)

_KINDS = [
    ("wait32", re.compile(r"\bmemory\.atomic\.wait32\b")),
    ("wait64", re.compile(r"\bmemory\.atomic\.wait64\b")),
    ("notify", re.compile(r"\bmemory\.atomic\.notify\b")),
    ("cmpxchg", re.compile(r"\.atomic\.rmw\d*\.cmpxchg")),
    ("rmw", re.compile(r"\.atomic\.rmw")),
    ("load", re.compile(r"\.atomic\.load")),
    ("store", re.compile(r"\.atomic\.store")),
]


def atomic_kinds_in_text(text: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for line in text.splitlines():
        for kind, pattern in _KINDS:
            if pattern.search(line):
                out[kind] += 1
                break
    return out


def generate(config: str, seed: int) -> bytes | None:
    rnd = random.Random(f"{config}-{seed}")
    entropy = rnd.randbytes(rnd.choice([500, 2000, 8000, 20000]))
    try:
        return run_wasm_tools("smith", *CONFIGS[config], stdin=entropy)
    except RuntimeError:
        return None  # smith could not build a module from these bytes


def usable_modules(config: str) -> Iterator[tuple[int, bytes]]:
    """(seed, module) for each seed whose smith output is a valid module."""
    for seed in SEEDS:
        data = generate(config, seed)
        if data is not None and validation_error(data) is None:
            yield seed, data


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_random_modules_instrument_to_valid_modules(config: str) -> None:
    checked = 0
    with_atomics = 0
    for seed, data in usable_modules(config):
        checked += 1
        where = f"{config} seed {seed}"
        assert our_instruction_offsets(data) == dump_instruction_offsets(data), where
        expected = atomic_kinds_in_text(print_wat(data))
        with_atomics += bool(expected)
        for level in InstrumentLevel:
            r = instrument(data, level)
            assert validation_error(r.wasm) is None, (where, level, validation_error(r.wasm))
            if not r.changed:
                assert r.wasm is data, where
        # At MEMORY level every atomic access is a site, each kind counted.
        r = instrument(data, InstrumentLevel.MEMORY)
        assert Counter(s.kind for s in r.sites) == expected, where
        assert r.changed == bool(expected), where
        for site in r.sites:
            assert data[site.offset] == 0xFE, where
        left = atomic_kinds_in_text(print_wat(r.wasm))
        assert not (left["wait32"] or left["wait64"] or left["notify"]), where
        assert validation_error(force_shift(data, 2)) is None, where
    assert checked >= len(SEEDS) // 2, f"only {checked} usable modules"
    if config == "atomics":
        assert with_atomics >= 10, f"only {with_atomics} modules had atomics"


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_random_modules_instrument_with_step_footprints_to_valid_modules(config: str) -> None:
    """The dfs policy's loads (instrument/footprints.py): the operands saved before every visible access and
    atomic, the announcements and the marks before calls and memory.grow keep every module valid."""
    from pytest_wasmconc.instrument.preempt import PreemptCounterPass

    checked = 0
    for seed, data in usable_modules(config):
        checked += 1
        passes = [PreemptCounterPass(1000, access_cost=100, host_call_points=True, footprints=True)]
        r = instrument(data, InstrumentLevel.SHARED, passes, footprints=True)
        assert validation_error(r.wasm) is None, (f"{config} seed {seed}", validation_error(r.wasm))
    assert checked >= len(SEEDS) // 2, f"only {checked} usable modules"
