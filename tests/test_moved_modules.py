"""Modules moved by the restructuring stay importable from their old paths for one release, with a warning."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc import _moved


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_every_old_path_resolves_to_its_new_home(old: str) -> None:
    new = _moved.MOVED[old]
    homes = [importlib.import_module(f"pytest_wasmconc.{t}") for t in ((new,) if isinstance(new, str) else new)]
    names = [n for home in homes for n in getattr(home, "__all__", ())]
    # A fresh interpreter: the warning fires at the first import only, and tests must not share sys.modules.
    code = textwrap.dedent(f"""
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import pytest_wasmconc.{old} as alias
        assert any(issubclass(w.category, DeprecationWarning) and "pytest_wasmconc.{old} moved to" in str(w.message)
                   for w in caught), [str(w.message) for w in caught]
        import importlib
        homes = [importlib.import_module(t) for t in {[h.__name__ for h in homes]!r}]
        for name in {names!r}:
            value = getattr(alias, name)
            assert any(getattr(h, name, None) is value for h in homes), name
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_an_old_path_gives_the_same_objects_with_from_imports() -> None:
    code = textwrap.dedent("""
        import warnings
        warnings.simplefilter("ignore")
        from pytest_wasmconc.runtime.hostsync import Lock as old
        from pytest_wasmconc.host import Lock as new
        from pytest_wasmconc.runtime.capi import CallFuture, trap_request
        from pytest_wasmconc.runtime.wasmtime.calls import CallFuture as new_future
        assert old is new and CallFuture is new_future and callable(trap_request)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert done.returncode == 0, done.stderr


def test_an_unknown_name_on_an_old_path_is_an_attribute_error() -> None:
    code = textwrap.dedent("""
        import warnings
        warnings.simplefilter("ignore")
        import pytest_wasmconc.runtime.capi as capi
        try:
            capi.no_such_name
        except AttributeError as exc:
            print(exc)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert "has no attribute 'no_such_name'" in done.stdout, done.stderr


def test_the_new_modules_keep_their_own_names() -> None:
    """The alias is a separate module: the real one's name and spec are its own (pickling, monkeypatching)."""
    from pytest_wasmconc.runtime.machine import execution

    assert execution.__name__ == "pytest_wasmconc.runtime.machine.execution"
    assert execution.__spec__ is not None and execution.__spec__.name == execution.__name__
