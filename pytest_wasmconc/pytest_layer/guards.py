"""Marker checks: which check each marker puts on a test, and how a check's failure fails the test.

A registry maps a marker name to a factory `(item, mark) -> Check` (the one
Check protocol, runtime/extensions.py). The plugin's own markers are listed
here, in `BUILTIN`; the modules that build their checks do not import this
one back. A conftest adds a marker of its own with `register_check`:

    from pytest_wasmconc.runtime.extensions import Check, CheckFailure

    class ExitCodeCheck(Check):
        def __init__(self, item, mark):
            self.forbidden = mark.args[0]
        def inspect(self, outcome):
            if outcome.exit_code == self.forbidden:
                return CheckFailure(f"exit code {self.forbidden} is forbidden")
            return None

    register_check("wasm_exit_code", ExitCodeCheck)         # and declare the marker to pytest

A marker's check is never replaced silently: registering another one for it
(the plugin's own markers included) replaces it with a WasmconcWarning, or
without one when `replace=True` says the replacement is meant; `replace=True`
for a marker that has no check is an error. A factory registered again under
the same name (a conftest imported anew) is no conflict.

After each execution the test fails with the first failure a check reports
(marked.py says how a failure becomes the test's exception).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest

from ..checks.no_hang import NoHangCheck
from ..runtime.extensions import Check
from . import legacy_checks, lock_inversion, no_data_race, stream_sequence
from .errors import WasmconcWarning
from .marked import MarkedCheck
from .markers import MarkerError, no_hang_marker

__all__ = [
    "BUILTIN",
    "CheckRegistryError",
    "GuestCheck",
    "MarkedCheck",
    "checks_for",
    "register_check",
    "registered_markers",
]

GuestCheck = Check  # the name of the check protocol in 0.1
CheckFactory = Callable[[pytest.Item, pytest.Mark], Check]


class CheckRegistryError(ValueError):
    """A check registered wrongly: a marker name that is no identifier, a factory that is no callable,
    `replace=True` with nothing to replace."""


def _no_hang(item: pytest.Item, mark: pytest.Mark) -> Check:
    no_hang_marker(item)  # its bounds are run settings (precedence.py); this only checks the arguments
    return NoHangCheck()


# The plugin's markers and the factories of their checks, in the order their failures are reported.
BUILTIN: dict[str, CheckFactory] = {
    "wasm_no_hang": _no_hang,
    "wasm_no_lock_inversion": lock_inversion.make_check,
    "wasm_stream_sequence": stream_sequence.make_check,
    "wasm_no_data_race": no_data_race.make_check,
}

_factories: dict[str, CheckFactory] = dict(BUILTIN)  # builtins first, then the users', in registration order


def _identity(factory: object) -> tuple[object, object]:
    return getattr(factory, "__module__", None), getattr(factory, "__qualname__", None)


def register_check(marker: str, factory: CheckFactory, *, replace: bool = False) -> None:
    """Make `@pytest.mark.<marker>` put `factory(item, mark)`, a `Check`, on the test (see the module docstring).

    `replace=True`: the marker has a check (maybe the plugin's) and this one is meant to replace it.
    """
    if not isinstance(marker, str) or not marker.isidentifier():
        raise CheckRegistryError(f"register_check: the marker name must be an identifier, got {marker!r}")
    if not callable(factory):
        raise CheckRegistryError(f"register_check({marker!r}, ...): the factory must be callable "
                                 f"(item, mark) -> Check, got {factory!r}")
    current = _factories.get(marker)
    if current is None and replace:
        raise CheckRegistryError(f"register_check({marker!r}, replace=True): no check is registered for "
                                 f"{marker!r} to replace (registered: {', '.join(_factories)})")
    if current is not None and not replace and _identity(current) != _identity(factory):
        whose = "the plugin's own check" if marker in BUILTIN and current is BUILTIN[marker] else "the check"
        warnings.warn(WasmconcWarning(
            f"register_check({marker!r}, ...) replaces {whose} of @pytest.mark.{marker}; "
            "pass replace=True if that is meant"), stacklevel=2)
    _factories[marker] = factory


def registered_markers() -> list[str]:
    """The markers that put a check on a test (the plugin's and the registered ones)."""
    return list(_factories)


def checks_for(item: pytest.Item) -> list[MarkedCheck]:
    """The checks the test's markers ask for, in registry order (MarkerError: a misused marker)."""
    out: list[MarkedCheck] = []
    for marker, factory in list(_factories.items()):
        mark = item.get_closest_marker(marker)
        if mark is None:
            continue
        check = factory(item, mark)
        if isinstance(check, Check):
            out.append(MarkedCheck(marker, check))
        elif legacy_checks.is_legacy(check):
            out.append(legacy_checks.LegacyMarkedCheck(marker, check))
        else:
            raise MarkerError(f"@pytest.mark.{marker}: its registered factory returned {check!r}, "
                              "not a pytest_wasmconc Check")
    return out
