"""Marker checks: each module registers its marker with pytest_layer.guards.register_check."""

from __future__ import annotations

from . import stream_sequence  # noqa: F401
