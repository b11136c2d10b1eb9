"""Checks' runtime parts (no pytest here: the CLI imports them); their markers live in pytest_layer."""

from __future__ import annotations
