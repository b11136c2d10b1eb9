"""A long exploration split across xdist workers: `shards="auto"` makes one test item per worker."""

from __future__ import annotations

import pytest


@pytest.mark.wasm_settings(schedules=400, shards="auto")
def test_mutex_counter_holds_over_400_schedules(wasm_scheduler, c_guest):
    # Under -n 4 this is four items of 100 schedules each (schedules 0, 4, 8, ...
    # in the first, 1, 5, 9, ... in the second): the same 400 schedules as
    # without xdist, finished about four times sooner.
    outcome = wasm_scheduler.explore(c_guest("mutex_counter"))
    assert outcome.stdout == "counter=100\n"
