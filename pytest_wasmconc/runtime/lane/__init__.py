"""The scheduler's native hot path (`_lane`, C sources in `_lane_c/`) and the Python pieces beside it.

`_lane` runs the serial driver's steps, keeps the threads' slots, the active
set and the futex hash table; `futex.py` holds the Python wait queues OS mode
uses and the adapter over the native table. With `NATIVE` off (environment
WASMCONC_NATIVE_LANE=0) every step runs in Python (drivers/serial.py): the
reference the lane is tested against (tests/runtime/test_lane.py).
"""

from __future__ import annotations

import os

NATIVE = os.environ.get("WASMCONC_NATIVE_LANE", "1") != "0"
