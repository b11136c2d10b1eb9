"""Interim: the path `runtime/runner.py` imports `HostRun`/`ImportsSpec` from until it imports run.py/api.py.

The module was split by idea (see this folder's `__init__`). The path was
never released (the folder is new in 0.2), so it gets no deprecation: delete
this file once runner.py imports the new homes.
"""

from __future__ import annotations

from .api import (
    DEFAULT_BLOCKING_TIMEOUT,
    GuestCallError,
    GuestCallTrap,
    HostImportError,
    ImportsSpec,
    UserImports,
    nonblocking,
    wasm_signature,
)
from .call import GuestCall, current_call
from .run import HostRun

__all__ = [
    "DEFAULT_BLOCKING_TIMEOUT", "GuestCall", "GuestCallError", "GuestCallTrap", "HostImportError", "HostRun",
    "ImportsSpec", "UserImports", "current_call", "nonblocking", "wasm_signature",
]
