"""The pytest front end of pytest-wasmconc (entry point `pytest11: wasmconc`).

A placeholder while the plugin layer is being written: it registers nothing yet.
"""

from __future__ import annotations
