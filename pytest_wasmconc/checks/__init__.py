"""Checks: what a test or a CLI run asks of every guest execution, on the one Check protocol.

A check derives from `Check` (runtime/extensions.py, where the runtime calls
it) and overrides what it uses: a load-time pass, per-execution host functions
and events, and `inspect`, which says what is wrong with an outcome as a
pytest-free `CheckFailure`. No pytest here (the CLI imports these); the
markers that put a check on a test are in pytest_layer/ (guards.py lists them).

no_hang      a deadlock or a hang is a failure (`wasm_no_hang`)
lock_order   lock-order inversions across executions (`wasm_no_lock_inversion`, `--check lock-order`)
streams/     the wasi:io/streams output-stream protocol (`wasm_stream_sequence`, `--check streams`)
races/       data races between plain accesses to shared memory (`wasm_no_data_race`, `--check races`)
"""

from __future__ import annotations
