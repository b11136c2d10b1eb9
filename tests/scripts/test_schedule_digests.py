"""scripts/schedule_digests.py: one line per guest and policy, the same digests in every run, with the reset
path on and off (the fresh path is what the reset path must give)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "schedule_digests.py"


def _module() -> Any:
    spec = importlib.util.spec_from_file_location("schedule_digests", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _lines(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert _module().main(["--schedules", "4", "--only", "races/check_act_lazy_init.wasm", *argv]) == 0
    return capsys.readouterr().out.splitlines()


def test_the_digests_are_the_same_in_every_run_and_on_both_paths(capsys: pytest.CaptureFixture[str]) -> None:
    first = _lines(capsys)
    assert [line.split()[:3] for line in first] == [
        ["races/check_act_lazy_init.wasm", "random", "4"], ["races/check_act_lazy_init.wasm", "pct", "4"],
        ["races/check_act_lazy_init.wasm", "rr", "4"], ["races/check_act_lazy_init.wasm", "portfolio", "4"],
        ["plan", "races/check_act_lazy_init.wasm", "4"]]
    assert len({line.split()[-1] for line in first}) == len(first)  # each policy its own schedules
    assert _lines(capsys) == first
    assert _lines(capsys, "--fresh") == first
