"""Bad input to the Python API (`Runner`, `GuestIO`, `RunSettings`, tokens): a WasmconcError naming it.

The CLI and the pytest fixtures are thin over this API, so each of these is
what a user of either sees (CLI exit 2, the test's GuestLoadError).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from child_processes import CHILD_LIMIT_S
from pytest_wasmconc.runtime import ConfigError, ModuleError, ReplayError
from pytest_wasmconc.runtime.runner import GuestIO, Runner
from pytest_wasmconc.runtime.settings import RunSettings
from pytest_wasmconc.runtime.token import decode_token

GUESTS = Path(__file__).resolve().parents[2] / "guests"
HELLO = GUESTS / "wat" / "single_hello.wasm"
COMPONENT = GUESTS / "components" / "stream_one_shot.wasm"


@pytest.fixture(scope="module")
def runner() -> Runner:
    return Runner()


@pytest.mark.parametrize(("guest", "error", "needle"), [
    (None, ModuleError, "not NoneType"),
    (42, ModuleError, "not int"),
    ([b"\0asm"], ModuleError, "not list"),
    ("", ModuleError, "empty guest path"),
    ("guest\0.wasm", ModuleError, "not a usable file name"),
])
def test_a_guest_that_is_not_a_path_bytes_or_program_is_refused(runner: Runner, guest: Any,
                                                                  error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle.replace("(", r"\(")):
        runner.run(guest)


def test_a_wasmtime_module_object_is_refused(runner: Runner) -> None:
    module = wasmtime.Module(wasmtime.Engine(), HELLO.read_bytes())
    with pytest.raises(ModuleError, match="not Module"):
        runner.run(module)  # type: ignore[arg-type]


@pytest.mark.parametrize(("make", "needle"), [
    (lambda: GuestIO(args="abc"), "args must be a sequence of strings"),
    (lambda: GuestIO(args=[1]), r"args\[0\] must be a str"),  # type: ignore[arg-type, list-item]
    (lambda: GuestIO(args=["a\0b"]), "NUL"),
    (lambda: GuestIO(env=[("A", "1")]), "env must be a mapping"),  # type: ignore[arg-type, list-item]
    (lambda: GuestIO(env={"A": 1}), "must be str"),  # type: ignore[arg-type, list-item, dict-item]
    (lambda: GuestIO(dirs=["/tmp"]), "expected a .host directory, guest path. pair"),  # type: ignore[arg-type, list-item]
    (lambda: GuestIO(dirs=[(None, ".")]), "must be a path"),  # type: ignore[arg-type, list-item]
    (lambda: GuestIO(dirs=[("/tmp", "")]), "guest path must be a non-empty str"),
    (lambda: GuestIO(dirs=[("/nonexistent-dir", ".")]), "/nonexistent-dir: no such directory"),
    (lambda: GuestIO(dirs=[(str(HELLO), ".")]), "single_hello.wasm: not a directory"),
    (lambda: GuestIO(stdin=5), "stdin must be bytes"),  # type: ignore[arg-type, list-item]
    (lambda: GuestIO(wasi="wasix"), "invalid WASI implementation 'wasix'"),
    (lambda: GuestIO(wasi_options=[1]), "WASI options must be a mapping"),  # type: ignore[arg-type, list-item]
])
def test_bad_guest_io_is_a_config_error(make: Callable[[], GuestIO], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        make()


@pytest.mark.parametrize(("io", "needle"), [
    (GuestIO(stdin="/nonexistent/input"), "stdin file '/nonexistent/input'"),
    (GuestIO(stdin="/"), "is a directory"),
    (GuestIO(wasi_options={"no_such": 1}), "unknown WASI option no_such"),
])
def test_a_wasi_world_that_cannot_be_built_is_a_config_error(runner: Runner, io: GuestIO, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        runner.run(HELLO, io)


def test_a_missing_stdin_file_of_a_component_is_a_config_error(runner: Runner) -> None:
    with pytest.raises(ConfigError, match="/nonexistent/input"):
        runner.run(COMPONENT, GuestIO(stdin="/nonexistent/input"))


@pytest.mark.parametrize(("fields", "needle"), [
    ({"slice": "x"}, "slice must be a whole number"),
    ({"seed": 1.5}, "seed must be a whole number"),
    ({"depth": None}, "depth must be a whole number"),
    ({"max_steps": "many"}, "max-steps must be a whole number"),
    ({"timeout": float("nan")}, "timeout must be a finite number"),
    ({"timeout": "1"}, "timeout must be a finite number"),
    ({"policy": "chaos"}, "unknown scheduling policy 'chaos'"),
    ({"level": "everything"}, "invalid instrumentation level 'everything'"),
    ({"preempt": "turbo"}, "invalid preempt mode 'turbo'"),
])
def test_bad_run_settings_are_config_errors(fields: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        RunSettings(**fields)


@pytest.mark.parametrize("seed", [1.5, "7", True, None])
def test_a_bad_seed_given_to_with_seed_is_a_config_error(seed: Any) -> None:
    with pytest.raises(ConfigError, match="seed must be a whole number"):
        RunSettings().with_seed(seed)


def test_with_seed_is_with_only_the_seed_changed() -> None:
    base = RunSettings(policy="pct", slice=77, hot_sites=(5, 9), max_steps=None, timeout=None)
    assert base.with_seed(1 << 62) == base.with_(seed=1 << 62)
    assert base.with_seed(-3).seed == -3 and base.seed == 0
    assert hash(base.with_seed(4)) == hash(base.with_(seed=4))


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"schedules": "3"}, "schedules must be a whole number"),
    ({"schedules": True}, "schedules must be a whole number"),
    ({"expect_exit": "0"}, "expect_exit must be an exit code"),
    ({"host_functions": [5]}, "host_functions must be HostFunction objects"),
])
def test_bad_explore_arguments_are_config_errors(runner: Runner, kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        runner.explore(HELLO, **kwargs)


@pytest.mark.parametrize("schedules", [0, -1])
def test_exploring_no_schedules_is_a_usage_error_before_the_guest_is_read(runner: Runner, schedules: int) -> None:
    with pytest.raises(ConfigError, match=f"schedules must be a whole number >= 1, got {schedules}") as info:
        runner.explore("no/such/guest.wasm", schedules=schedules)
    assert isinstance(info.value, ValueError)  # a usage error reads as Python's own bad-argument error


@pytest.mark.parametrize(("token", "needle"), [
    (None, "not NoneType"),
    ("garbage", "not a wasmconc replay token"),
    ("wc1-!!!!", "damaged replay token"),
])
def test_a_bad_replay_token_is_a_replay_error(runner: Runner, token: Any, needle: str) -> None:
    with pytest.raises(ReplayError, match=needle):
        runner.replay(HELLO, token)


def test_a_token_with_trailing_bytes_does_not_decode() -> None:
    token = Runner().run(HELLO).token
    assert token is not None
    decode_token(token)
    with pytest.raises(ReplayError, match="does not decode"):
        decode_token(token + "AAAA")


def test_a_v128_host_import_is_a_module_error_not_an_abort(tmp_path: Path) -> None:
    """str() of a v128 ValType aborts the process: run the load in a child to survive a regression."""
    path = tmp_path / "simd.wasm"
    path.write_bytes(wasmtime.wat2wasm('(module (import "env" "f" (func (param i32 v128) (result v128))) '
                                       '(memory (export "memory") 1) (func (export "_start")))'))
    code = ("import sys\nfrom pytest_wasmconc.runtime.runner import Runner\n"
            "from pytest_wasmconc.runtime import WasmconcError\n"
            "try:\n    Runner().load(sys.argv[1])\nexcept WasmconcError as exc:\n    print(exc)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "simd.wasm: imports env.f as (i32 v128) -> (v128)" in proc.stdout
    assert "not v128" in proc.stdout

