"""The scheduler's native hot path (`_lane`, C sources in `_lane_c/`) and the Python pieces beside it.

`_lane` is the reference the runtime runs; `futex.py` holds the Python wait
queues OS mode uses and the adapter over the native futex table.
"""
