"""Race-directed exploration (directed.py): racy accesses found first become where schedules preempt."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from child_processes import CHILD_LIMIT_S, wasm_tools

from pytest_wasmconc import Runner, RunSettings
from pytest_wasmconc.runtime import GuestIO
from pytest_wasmconc.directed import DISCOVERY_MAX, DISCOVERY_SCHEDULES, LEAD_FIRST, direct
from pytest_wasmconc.instrument.preempt import PreemptCounterPass
from pytest_wasmconc.instrument.shared_accesses import HOT_ACCESS_COST
from pytest_wasmconc.runtime.loading.program import load_program
from pytest_wasmconc.runtime.settings import EngineSettings, Preempt
from pytest_wasmconc.runtime.token import decode_token, encode_token, ReplayToken, GuestIdentity

GUESTS = Path(__file__).resolve().parents[2] / "guests"
RACES = GUESTS / "races"
LAZY = RACES / "check_act_lazy_init.wasm"


def wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S)


def test_discovery_finds_the_racy_sites_of_a_racy_guest_and_only_candidates_in_its_fixed_twin() -> None:
    found = direct(Runner(RunSettings(seed=5)), LAZY)
    assert found.hot_sites, found.summary()
    assert found.settings.hot_sites == found.hot_sites
    assert found.pct_steps is not None and found.settings.pct_steps == found.pct_steps
    assert found.executions == DISCOVERY_SCHEDULES + 1  # and one PCT pilot to measure k
    # The twin initialises through pthread_once: no race, but two threads' accesses to the table
    # that thread creation does not order (the once's atomics do): race candidates steer.
    clean = direct(Runner(RunSettings(seed=5)), RACES / "check_act_lazy_init_fixed.wasm")
    assert clean.candidates and clean.hot_sites and clean.settings.hot_sites == clean.hot_sites
    assert clean.executions == DISCOVERY_SCHEDULES + 1
    assert "no race showed" in clean.summary()


def test_a_guest_whose_threads_share_no_plain_data_gets_no_hot_site() -> None:
    # Discovery looks longer (DISCOVERY_MAX executions), finds neither race nor candidate; the pilot
    # still measures the classic PCT's k.
    clean = direct(Runner(RunSettings(seed=5)), GUESTS / "libc" / "spawn_join_loop.wasm", GuestIO(args=["5"]))
    assert clean.hot_sites == () and clean.settings.hot_sites == () and not clean.candidates, clean.summary()
    assert clean.executions == DISCOVERY_MAX + 1
    assert clean.settings.pct_choices is not None
    assert "no racy access found" in clean.summary()


def test_discovery_is_a_function_of_the_seed() -> None:
    first = direct(Runner(RunSettings(seed=9)), LAZY)
    again = direct(Runner(RunSettings(seed=9)), LAZY)
    assert (first.hot_sites, first.pct_steps) == (again.hot_sites, again.pct_steps)


def test_hot_sites_charge_the_hot_cost_and_load_as_another_program() -> None:
    engine = EngineSettings.for_mode(Preempt.FUEL)
    sites = direct(Runner(RunSettings(seed=5)), LAZY).hot_sites
    plain = load_program(LAZY, engine, level="shared")
    hot = load_program(LAZY, engine, level="shared", hot_sites=frozenset(sites))
    assert hot is not plain and hot.hot_sites == frozenset(sites)
    cost = b"\x42" + _sleb(HOT_ACCESS_COST)  # i64.const HOT_ACCESS_COST
    assert hot.wasm.count(cost) >= len(sites) > 0
    assert plain.wasm.count(cost) == 0
    assert PreemptCounterPass(1).hot_sites == frozenset()


def test_a_token_carries_hot_sites_and_k_and_applies_them() -> None:
    token = ReplayToken.for_run(RunSettings(seed=3, hot_sites=(10, 20), pct_steps=7, pct_choices=30),
                                guest=GuestIdentity("0" * 16, "g.wasm"))
    back = decode_token(encode_token(token))
    assert (back.hot_sites, back.pct_steps, back.pct_choices) == ((10, 20), 7, 30)
    applied = back.apply(RunSettings())
    assert (applied.hot_sites, applied.pct_steps, applied.pct_choices) == ((10, 20), 7, 30)


def test_default_explore_finds_the_lazy_init_race_and_its_replay_fails_the_same_way() -> None:
    explored = wasmconc("explore", str(LAZY), "--seed", "1", "--schedules", "100")
    assert explored.returncode == 1, explored.stdout + explored.stderr
    assert "race-directed:" in explored.stdout
    token = re.search(r"(wc1-\S+)", explored.stdout.split("replay:")[1]).group(1)  # type: ignore[union-attr]
    for _ in range(3):
        replayed = wasmconc("replay", str(LAZY), token)
        assert replayed.returncode == 1, replayed.stdout + replayed.stderr


def test_an_explicit_policy_explores_undirected() -> None:
    explored = wasmconc("explore", str(RACES / "order_flags_fixed.wasm"), "--seed", "1", "--schedules", "5",
                        "--policy", "random")
    assert explored.returncode == 0, explored.stdout + explored.stderr
    assert "race-directed" not in explored.stdout


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def test_the_defaults_first_schedules_are_the_random_walks_own_failure_and_token_included() -> None:
    # The first DISCOVERY_SCHEDULES positions are the walk's whatever discovery finds (the lead is cut
    # short after them when it found races: a later failure of the walk may come at a directed position).
    guest = str(RACES / "order_flags.wasm")
    for seed in range(1, 9):
        walk = wasmconc("explore", guest, "--seed", str(seed), "--schedules", str(DISCOVERY_SCHEDULES),
                        "--policy", "random")
        if walk.returncode == 1:
            break
    else:
        raise AssertionError("the random walk never failed order_flags within its first schedules")
    default = wasmconc("explore", guest, "--seed", str(seed), "--schedules", str(DISCOVERY_SCHEDULES))
    assert default.returncode == 1, default.stdout + default.stderr
    failed = re.compile(r"^schedule \d+ failed:$", re.M)
    assert failed.findall(default.stdout) == failed.findall(walk.stdout)
    token = re.compile(r"replay: .*? (wc1-\S+)")
    assert token.findall(default.stdout) == token.findall(walk.stdout)


def test_a_guest_the_race_check_cannot_take_is_explored_without_discovery(tmp_path: Path) -> None:
    stripped = tmp_path / "stripped.wasm"  # no name section: the race check refuses it (libc's locks unknown)
    subprocess.run([wasm_tools(), "strip", "--all", str(RACES / "order_flags.wasm"), "-o", str(stripped)],
                   check=True, timeout=CHILD_LIMIT_S)
    explored = wasmconc("explore", str(stripped), "--seed", "1", "--schedules", "12")
    assert explored.returncode in (0, 1), explored.stdout + explored.stderr
    assert "race-directed: no discovery, the race check cannot run on this guest" in explored.stdout
    assert "no name section" in explored.stdout
    walk = wasmconc("explore", str(stripped), "--seed", "1", "--schedules", "12", "--policy", "random")
    failed = re.compile(r"^schedule (\d+) failed:$", re.M)
    if failed.search(walk.stdout) and int(failed.findall(walk.stdout)[0]) < LEAD_FIRST:
        assert failed.findall(explored.stdout) == failed.findall(walk.stdout)  # the walk's own schedules
