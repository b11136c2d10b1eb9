"""Interim: the path `plugin.py` imports the host `Lock` from until it imports `pytest_wasmconc.host`.

The sync objects live in `sync/` now. The path was never released (the
folder is new in 0.2), so it gets no deprecation: delete this file once
plugin.py imports the new home.
"""

from __future__ import annotations

from .sync import *  # noqa: F403
from .sync import __all__ as __all__
