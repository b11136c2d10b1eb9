"""The runtime core is usable without pytest."""

from __future__ import annotations

import subprocess
import sys

from child_processes import CHILD_LIMIT_S


def test_importing_the_runtime_and_cli_leaves_pytest_unimported() -> None:
    code = (
        "import sys; import pytest_wasmconc.runtime, pytest_wasmconc.cli, pytest_wasmconc.schedulers, "
        "pytest_wasmconc.instrument, pytest_wasmconc.wasi; "
        "print('pytest' in sys.modules, '_pytest' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=CHILD_LIMIT_S)
    assert out.stdout.strip() == "False False"
