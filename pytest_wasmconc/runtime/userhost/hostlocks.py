"""Interim: the path `runtime/__init__.py` loads `HostLock`/`HostLockEvent` from until it names hostlock.py.

The path was never released (the folder is new in 0.2), so it gets no
deprecation of its own (HostLock warns when constructed): delete this file
once runtime/__init__.py's `_HOMES` says "userhost.hostlock".
"""

from __future__ import annotations

from .hostlock import HostLock, HostLockEvent

__all__ = ["HostLock", "HostLockEvent"]
