"""WASI plugs into the runtime: a Runner takes the worlds it is given, and the package registers its own."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_wasmconc.runtime import ConfigError, GuestIO, Runner
from pytest_wasmconc.runtime import worlds as runtime_worlds
from pytest_wasmconc.session import DefaultWorlds

LIBC = Path(__file__).resolve().parents[2] / "guests" / "libc"


class RecordingWorlds:
    """The default worlds, with every core world's output rewritten: proof the runner used these."""

    def __init__(self) -> None:
        self.inner = DefaultWorlds()
        self.made: list[list[str]] = []

    def core(self, program: Any, io: GuestIO, argv: list[str]) -> Any:
        self.made.append(argv)
        return _Tagged(self.inner.core(program, io, argv))

    def component(self, program: Any, io: GuestIO, argv: list[str], observers: Sequence[Any]) -> Any:
        return self.inner.component(program, io, argv, observers)


class _Tagged:
    def __init__(self, world: Any) -> None:
        self._world = world

    def __getattr__(self, name: str) -> Any:
        return getattr(self._world, name)

    @property
    def stdout(self) -> bytes:
        return b"[tagged] " + self._world.stdout


def test_a_runner_uses_the_worlds_it_is_given() -> None:
    worlds = RecordingWorlds()
    outcome = Runner(worlds=worlds).run(LIBC / "mutex_many_threads.wasm", GuestIO(args=["4", "10"]))
    assert outcome.exit_code == 0, outcome.report
    assert worlds.made == [["mutex_many_threads.wasm", "4", "10"]]
    assert outcome.stdout_bytes.startswith(b"[tagged] ")


def test_a_plain_runner_gets_the_worlds_the_package_registered() -> None:
    assert isinstance(Runner().worlds, DefaultWorlds)


def test_without_registered_worlds_a_runner_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_worlds, "_default", None)
    with pytest.raises(ConfigError, match=r"Runner\(worlds=\.\.\.\)"):
        Runner().worlds  # noqa: B018


class _NotRenewable:
    """A core world without `renew` (as a provider's own may be): made anew for every execution."""

    def __init__(self, world: Any) -> None:
        self._world = world

    def __getattr__(self, name: str) -> Any:
        if name == "renew":
            raise AttributeError(name)
        return getattr(self._world, name)


@pytest.mark.parametrize("reuse", [True, False])
def test_an_exploration_renews_its_world_instead_of_making_one_per_schedule(reuse: bool) -> None:
    worlds = RecordingWorlds()
    runner = Runner(worlds=worlds)
    runner.reuse_instances = reuse
    io = GuestIO(args=["2", "3"])
    single = Runner().run(LIBC / "mutex_many_threads.wasm", io)
    seen: list[bytes] = []
    runner.explore(LIBC / "mutex_many_threads.wasm", io, schedules=5,
                   progress=lambda _n, o: seen.append(o.stdout_bytes))
    # Renewed (the reset path, kept_world.py): one world for the exploration; off: one per execution.
    assert len(worlds.made) == (1 if reuse else 5)
    # Each schedule's output is its own, not the schedules' before it.
    assert seen == [b"[tagged] " + single.stdout_bytes] * 5


def test_a_world_without_renew_is_made_for_each_execution() -> None:
    class Plain(RecordingWorlds):
        def core(self, program: Any, io: GuestIO, argv: list[str]) -> Any:
            self.made.append(argv)
            return _NotRenewable(self.inner.core(program, io, argv))

    worlds = Plain()
    exploration = Runner(worlds=worlds).explore(LIBC / "mutex_many_threads.wasm", GuestIO(args=["2", "3"]),
                                                schedules=3)
    assert not exploration.failed, exploration.outcome.report
    assert len(worlds.made) == 3
