"""Bad input to the pytest layer: one clear message each, never a traceback of ours, a crash or a hang.

Options are usage errors (exit 4) naming the option, its source and the valid
values; fixtures fail the test calling them with `GuestLoadError` (or the
`wasi_sandbox` call's ValueError) naming the problem; a misused marker errors
that one test at setup. Each session runs in a subprocess: some inputs used
to abort the interpreter (a v128 import) or to end in an INTERNALERROR.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import wasmtime

from child_processes import CHILD_LIMIT_S
from plugin_helpers import crafted_token, hello_token

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "guests" / "wat" / "single_hello.wasm"
HOST_CALLS = REPO / "guests" / "c" / "host_calls.wasm"  # imports host.check, host.log, host.add
COMPONENT = REPO / "guests" / "components" / "stream_one_shot.wasm"

BAD_GUESTS = {
    "v128_import": '(module (import "env" "f" (func (param v128))) (memory (export "memory") 1) '
                   '(func (export "_start")))',
    "externref_import": '(module (import "env" "f" (func (result externref))) (memory (export "memory") 1) '
                        '(func (export "_start")))',
    "start_takes_args": '(module (memory (export "memory") 1) (func (export "_start") (param i32)))',
    "thread_start_mistyped": '''(module
      (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func (export "wasi_thread_start") (param i64))
      (func (export "_start") (drop (call $spawn (i32.const 0)))))''',
    "fd_write_mistyped": '(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32))) '
                         '(memory (export "memory") 1) (func (export "_start")))',
    "unknown_import": '(module (import "mystery" "frobnicate" (func)) (memory (export "memory") 1) '
                      '(func (export "_start")))',
    "no_start": '(module (memory (export "memory") 1) (func (export "main")))',
    "huge_shared_memory": '(module (import "env" "memory" (memory i64 0x100000000 0x100000000 shared)) '
                          '(func (export "_start")))',
}


@dataclasses.dataclass
class Verdict:
    kind: str  # "passed", "failure" (in the test) or "error" (at setup)
    message: str  # the first line pytest reports for it


def verdicts(xml: Path) -> dict[str, Verdict]:
    out: dict[str, Verdict] = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        kind, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                kind, message = child.tag, child.get("message", "")
        out[case.get("name", "")] = Verdict(kind, message)
    return out


def run_session(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Verdict]]:
    xml = pytester.path / "report.xml"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", f"--junitxml={xml}",
                                           *args, timeout=CHILD_LIMIT_S)
    text = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in text, text
    assert "Fatal Python error" not in text and "is not implemented" not in text, text
    return result, verdicts(xml)


def assert_failed_with(got: dict[str, Verdict], test: str, kind: str, *needles: str) -> None:
    verdict = got[test]
    assert verdict.kind == kind, (test, verdict)
    for needle in needles:
        assert needle in verdict.message, (test, needle, verdict.message)


@pytest.fixture
def bad_guests(pytester: pytest.Pytester) -> Path:
    d = pytester.path / "bad"
    d.mkdir()
    for name, wat in BAD_GUESTS.items():
        (d / f"{name}.wasm").write_bytes(wasmtime.wat2wasm(wat))
    data = HELLO.read_bytes()
    (d / "empty.wasm").write_bytes(b"")
    (d / "text.wasm").write_text("just some text\n")
    (d / "truncated.wasm").write_bytes(HOST_CALLS.read_bytes()[:4000])
    (d / "header_only.wasm").write_bytes(data[:5])
    (d / "component_truncated.wasm").write_bytes(COMPONENT.read_bytes()[:300])
    return d


FIXTURE_TESTS = f'''
import pytest, wasmtime, pathlib
from pytest_wasmconc.plugin import GuestLoadError

BAD = pathlib.Path(__file__).parent / "bad"
HELLO = {str(HELLO)!r}
HOST_CALLS = {str(HOST_CALLS)!r}
COMPONENT = {str(COMPONENT)!r}

def test_missing_file(wasm_scheduler): wasm_scheduler.run(BAD / "nope.wasm")
def test_directory(wasm_scheduler): wasm_scheduler.run(BAD)
def test_empty(wasm_scheduler): wasm_scheduler.run(BAD / "empty.wasm")
def test_not_wasm(wasm_scheduler): wasm_scheduler.explore(BAD / "text.wasm")
def test_truncated(wasm_scheduler): wasm_scheduler.run(BAD / "truncated.wasm")
def test_header_only(wasm_scheduler): wasm_scheduler.compile(BAD / "header_only.wasm")
def test_truncated_component(wasm_scheduler): wasm_scheduler.run(BAD / "component_truncated.wasm")
def test_bytes_not_wasm(wasm_scheduler): wasm_scheduler.run(b"MZ\\x90\\x00")
def test_none_as_guest(wasm_scheduler): wasm_scheduler.run(None)
def test_module_object_as_guest(wasm_scheduler):
    wasm_scheduler.run(wasmtime.Module(wasmtime.Engine(), pathlib.Path(HELLO).read_bytes()))
def test_empty_path(wasm_scheduler): wasm_scheduler.run("")
def test_nul_in_path(wasm_scheduler): wasm_scheduler.run("guest\\0.wasm")
def test_v128_import(wasm_scheduler): wasm_scheduler.run(BAD / "v128_import.wasm")
def test_externref_import(wasm_scheduler): wasm_scheduler.explore(BAD / "externref_import.wasm")
def test_start_takes_args(wasm_scheduler): wasm_scheduler.run(BAD / "start_takes_args.wasm")
def test_thread_start_mistyped(wasm_scheduler): wasm_scheduler.run(BAD / "thread_start_mistyped.wasm")
def test_fd_write_mistyped(wasm_scheduler): wasm_scheduler.run(BAD / "fd_write_mistyped.wasm")
def test_unknown_import(wasm_scheduler): wasm_scheduler.run(BAD / "unknown_import.wasm")
def test_no_start(wasm_scheduler): wasm_scheduler.run(BAD / "no_start.wasm")
def test_huge_shared_memory(wasm_scheduler): wasm_scheduler.run(BAD / "huge_shared_memory.wasm")
def test_args_none(wasm_scheduler): wasm_scheduler.run(HELLO, None)
def test_args_not_strings(wasm_scheduler): wasm_scheduler.run(HELLO, [1, 2])
def test_args_nul(wasm_scheduler): wasm_scheduler.run(HELLO, ["a\\0b"])
def test_stdin_int(wasm_scheduler): wasm_scheduler.run(HELLO, stdin=5)
def test_stdin_missing_file(wasm_scheduler): wasm_scheduler.run(HELLO, stdin=BAD / "no-input.txt")
def test_stdin_missing_file_of_component(wasm_scheduler): wasm_scheduler.run(COMPONENT, stdin=BAD / "no-input.txt")
def test_stdin_directory(wasm_scheduler): wasm_scheduler.run(HELLO, stdin=BAD)
def test_schedules_str(wasm_scheduler): wasm_scheduler.explore(HELLO, schedules="3")
def test_schedules_zero(wasm_scheduler): wasm_scheduler.explore(HELLO, schedules=0)
def test_schedules_zero_is_a_value_error(wasm_scheduler):
    with pytest.raises(ValueError, match="explore.schedules=0.: expected a whole number"):
        wasm_scheduler.explore(HELLO, schedules=0)
def test_expect_exit_str(wasm_scheduler): wasm_scheduler.explore(HELLO, expect_exit="0")
def test_sandbox_not_a_sandbox(wasm_scheduler): wasm_scheduler.run(HELLO, sandbox="sandbox")
def test_sandbox_env_not_str(wasm_scheduler, wasi_sandbox):
    wasi_sandbox.env["COUNT"] = 3
    wasm_scheduler.run(HELLO, sandbox=wasi_sandbox)
def test_sandbox_unknown_option(wasm_scheduler, wasi_sandbox):
    wasi_sandbox.options["no_such_option"] = 1
    wasm_scheduler.run(HELLO, sandbox=wasi_sandbox)
def test_sandbox_unknown_wasi(wasm_scheduler, wasi_sandbox):
    wasi_sandbox.wasi = "bogus"
    wasm_scheduler.run(HELLO, sandbox=wasi_sandbox)
def test_sandbox_preopen_dir_removed(wasm_scheduler, wasi_sandbox, tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    wasi_sandbox.preopen("/data", gone)
    gone.rmdir()
    wasm_scheduler.run(HELLO, sandbox=wasi_sandbox)
def test_sandbox_preopen_a_file(wasi_sandbox): wasi_sandbox.preopen("/data", HELLO)
def test_sandbox_preopen_missing_dir(wasi_sandbox): wasi_sandbox.preopen("/data", BAD / "nodir")
def test_sandbox_preopen_empty_guest_path(wasi_sandbox): wasi_sandbox.preopen("")
def test_component_with_preopen(wasm_scheduler, wasi_sandbox): wasm_scheduler.run(COMPONENT, sandbox=wasi_sandbox)
def test_imports_not_a_mapping(wasm_scheduler): wasm_scheduler.run(HOST_CALLS, imports=5)
def test_imports_not_callable(wasm_scheduler):
    wasm_scheduler.run(HOST_CALLS, imports={{"host": {{"add": 5, "check": len, "log": print}}}})
def test_imports_wrong_arity(wasm_scheduler):
    wasm_scheduler.run(HOST_CALLS, imports={{"host": {{"add": lambda: 0}}}})
def test_imports_wrong_annotation(wasm_scheduler):
    def add(a: str, b: int) -> int: return 0
    wasm_scheduler.run(HOST_CALLS, imports={{"host": {{"add": add}}}})
def test_imports_not_imported_by_the_guest(wasm_scheduler):
    wasm_scheduler.run(HELLO, imports={{"host": {{"ad": lambda a, b: 0}}}})
def test_imports_factory_returns_junk(wasm_scheduler): wasm_scheduler.run(HOST_CALLS, imports=lambda: [1])
'''


def test_every_bad_fixture_input_fails_its_test_with_one_message(pytester: pytest.Pytester, bad_guests: Path) -> None:
    pytester.makepyfile(test_fixture_input=FIXTURE_TESTS)
    result, got = run_session(pytester)
    load = "failure"
    expected: dict[str, tuple[str, ...]] = {
        "test_missing_file": ("GuestLoadError", "nope.wasm: no such file"),
        "test_directory": ("GuestLoadError", "bad: is a directory"),
        "test_empty": ("GuestLoadError", "empty.wasm: empty file"),
        "test_not_wasm": ("GuestLoadError", "text.wasm: not a WebAssembly module"),
        "test_truncated": ("GuestLoadError", "truncated.wasm: section"),
        "test_header_only": ("GuestLoadError", "header_only.wasm: truncated WebAssembly module"),
        "test_truncated_component": ("GuestLoadError", "component_truncated.wasm: invalid WebAssembly component"),
        "test_bytes_not_wasm": ("GuestLoadError", "<bytes>: not a WebAssembly module"),
        "test_none_as_guest": ("GuestLoadError", "a guest is a path", "not NoneType"),
        "test_module_object_as_guest": ("GuestLoadError", "not Module"),
        "test_empty_path": ("GuestLoadError", "empty guest path"),
        "test_nul_in_path": ("GuestLoadError", "not a usable file name"),
        "test_v128_import": ("GuestLoadError", "v128_import.wasm: imports env.f as (v128) -> ()", "not v128"),
        "test_externref_import": ("GuestLoadError", "externref_import.wasm: imports env.f", "not externref"),
        "test_start_takes_args": ("GuestLoadError", "exports _start as (i32) -> (), but it must be () -> ()"),
        "test_thread_start_mistyped": ("GuestLoadError", "exports wasi_thread_start as (i64) -> ()",
                                       "must be (i32 i32) -> ()"),
        "test_fd_write_mistyped": ("GuestLoadError", "wasi_snapshot_preview1.fd_write", "(i32) -> ()"),
        "test_unknown_import": ("GuestLoadError", "unknown import mystery.frobnicate"),
        "test_no_start": ("GuestLoadError", "exports no _start function"),
        "test_huge_shared_memory": ("GuestLoadError", "huge_shared_memory.wasm: cannot create its shared memory"),
        "test_args_none": ("GuestLoadError", "args must be a sequence of strings"),
        "test_args_not_strings": ("GuestLoadError", "args[0] must be a str"),
        "test_args_nul": ("GuestLoadError", "NUL"),
        "test_stdin_int": ("GuestLoadError", "stdin must be bytes, a file path"),
        "test_stdin_missing_file": ("GuestLoadError", "no-input.txt", "No such file"),
        "test_stdin_missing_file_of_component": ("GuestLoadError", "no-input.txt", "No such file"),
        "test_stdin_directory": ("GuestLoadError", "is a directory"),
        # usage errors, not load errors: the runtime's ConfigError (a ValueError)
        "test_schedules_str": ("ConfigError", "explore(schedules='3'): expected a whole number >= 1"),
        "test_schedules_zero": ("ConfigError", "explore(schedules=0): expected a whole number >= 1"),
        "test_expect_exit_str": ("ConfigError", "explore(expect_exit='0')"),
        "test_sandbox_not_a_sandbox": ("GuestLoadError", "sandbox must be the wasi_sandbox fixture"),
        "test_sandbox_env_not_str": ("GuestLoadError", "'COUNT'=3", "must be str"),
        "test_sandbox_unknown_option": ("GuestLoadError", "unknown WASI option no_such_option"),
        "test_sandbox_unknown_wasi": ("GuestLoadError", "invalid WASI implementation 'bogus'"),
        "test_sandbox_preopen_dir_removed": ("GuestLoadError", "gone: no such directory"),
        "test_sandbox_preopen_a_file": ("ValueError", "single_hello.wasm is not a directory"),
        "test_sandbox_preopen_missing_dir": ("ValueError", "nodir: no such directory"),
        "test_sandbox_preopen_empty_guest_path": ("ValueError", "guest path must be a non-empty str"),
        "test_component_with_preopen": ("GuestLoadError", "preopened directories are not supported for components"),
        "test_imports_not_a_mapping": ("GuestLoadError", "imports must be a mapping", "not int"),
        "test_imports_not_callable": ("GuestLoadError", "host.add", "not a callable"),
        "test_imports_wrong_arity": ("GuestLoadError", "host.add", "takes 0 arguments and the guest passes 2"),
        "test_imports_wrong_annotation": ("GuestLoadError", "host.add", "parameter 'a' is annotated str"),
        "test_imports_not_imported_by_the_guest": ("GuestLoadError", "host.ad", "does not import it"),
        "test_imports_factory_returns_junk": ("GuestLoadError", "the function returned list"),
    }
    assert set(got) == set(expected) | {"test_schedules_zero_is_a_value_error"}, set(got) ^ set(expected)
    for test, needles in expected.items():
        assert_failed_with(got, test, load, *needles)
    assert got["test_schedules_zero_is_a_value_error"].kind == "passed"
    assert "pytest_wasmconc/" not in result.stdout.str()  # no frame of ours in any traceback


MARKER_TESTS = f'''
import pytest
from pytest_wasmconc.instrument.locks import LockFunction

HELLO = {str(HELLO)!r}
COMPONENT = {str(COMPONENT)!r}

def body(s): s.run(HELLO)

@pytest.mark.wasm_settings(preempt="turbo")
def test_settings_preempt(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_settings(preempt=5)
def test_settings_preempt_int(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_settings(policy="chaos")
def test_settings_policy(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_settings(seed="x")
def test_settings_seed(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_settings(slice=0)
def test_settings_slice(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_settings(schedules="3")
def test_settings_schedules(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_settings(shards=0)
def test_settings_shards(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_settings(shards="many")
def test_settings_shards_str(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_settings(seeds=1)
def test_settings_unknown(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_settings("fuel")
def test_settings_positional(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_hang("soon")
def test_no_hang_str(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_hang(timeout=-1)
def test_no_hang_negative(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_hang(timeout=float("nan"))
def test_no_hang_nan(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_hang(max_steps=0)
def test_no_hang_steps(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_hang(1, 2, 3)
def test_no_hang_positional(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_hang(timout=3)
def test_no_hang_unknown(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_lock_inversion(table=5)
def test_lock_table_int(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_lock_inversion(extra=LockFunction("my_lock", "acquire"))
def test_lock_extra_one_row(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_lock_inversion(extra=[1])
def test_lock_extra_bad_row(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_lock_inversion(tabel=[])
def test_lock_unknown(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_no_lock_inversion
def test_lock_component(wasm_scheduler): wasm_scheduler.run(COMPONENT)
@pytest.mark.wasm_stream_sequence(budget=0)
def test_stream_budget(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_stream_sequence(expect=5)
def test_stream_expect_int(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_stream_sequence(expect="((")
def test_stream_expect_pattern(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_stream_sequence(expect={{"stdout": 5}})
def test_stream_expect_dict(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_stream_sequence(busy_poll="x")
def test_stream_busy_poll(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_stream_sequence(lost_wakeup="no")
def test_stream_lost_wakeup(wasm_scheduler): body(wasm_scheduler)
@pytest.mark.wasm_stream_sequence(budgett=1)
def test_stream_unknown(wasm_scheduler): body(wasm_scheduler)
def test_unaffected(wasm_scheduler): body(wasm_scheduler)
'''


def test_every_misused_marker_errors_its_own_test_at_setup(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_marker_input=MARKER_TESTS)
    _, got = run_session(pytester)
    err = "error"
    expected: dict[str, tuple[str, ...]] = {
        "test_settings_preempt": (err, "wasm_settings(preempt='turbo')", "valid: fuel, epoch, os"),
        "test_settings_preempt_int": (err, "wasm_settings(preempt=5)"),
        "test_settings_policy": (err, "wasm_settings(policy='chaos')", "valid: dfs, pct, portfolio, random, rr"),
        "test_settings_seed": (err, "wasm_settings(seed='x')", "whole number"),
        "test_settings_slice": (err, "wasm_settings(slice=0): invalid value (valid: a whole number from 1 to "),
        "test_settings_schedules": (err, "wasm_settings(schedules='3')"),
        "test_settings_shards": (err, "wasm_settings(shards=0)"),
        "test_settings_shards_str": (err, "wasm_settings(shards='many')"),
        "test_settings_unknown": (err, "wasm_settings got an unknown argument 'seeds'"),
        "test_settings_positional": (err, "wasm_settings takes at most 0 positional"),
        "test_no_hang_str": (err, "wasm_no_hang(timeout='soon')"),
        "test_no_hang_negative": (err, "wasm_no_hang(timeout=-1)"),
        "test_no_hang_nan": (err, "wasm_no_hang(timeout=nan)"),
        "test_no_hang_steps": (err, "wasm_no_hang(max_steps=0)"),
        "test_no_hang_positional": (err, "wasm_no_hang takes at most 2 positional"),
        "test_no_hang_unknown": (err, "unknown argument 'timout'"),
        "test_lock_table_int": (err, "wasm_no_lock_inversion(table=5)", "LockFunction"),
        "test_lock_extra_one_row": (err, "wasm_no_lock_inversion(extra=LockFunction(", "a list of"),
        "test_lock_extra_bad_row": (err, "table rows must be", "got 1"),
        "test_lock_unknown": (err, "unknown argument 'tabel'"),
        "test_lock_component": ("failure", "GuestLoadError", "stream_one_shot.wasm: is a WebAssembly component"),
        "test_stream_budget": (err, "wasm_stream_sequence(budget=0)"),
        "test_stream_expect_int": (err, "wasm_stream_sequence(expect=5)"),
        "test_stream_expect_pattern": (err, "wasm_stream_sequence(expect='((')"),
        "test_stream_expect_dict": (err, "wasm_stream_sequence(expect={'stdout': 5})"),
        "test_stream_busy_poll": (err, "wasm_stream_sequence(busy_poll='x')"),
        "test_stream_lost_wakeup": (err, "wasm_stream_sequence(lost_wakeup='no')", "True or False"),
        "test_stream_unknown": (err, "unknown argument 'budgett'"),
        "test_unaffected": ("passed",),
    }
    assert set(got) == set(expected), set(got) ^ set(expected)
    for test, (kind, *needles) in expected.items():
        assert_failed_with(got, test, kind, *needles)


def test_a_preempt_mode_given_to_wasm_settings_as_the_enum_is_accepted(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest
from pytest_wasmconc.runtime import Preempt

@pytest.mark.wasm_settings(preempt=Preempt.EPOCH)
def test_epoch(wasm_scheduler):
    assert wasm_scheduler.settings.preempt is Preempt.EPOCH
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


_HELLO_TOKEN = hello_token()


def _token(**fields: object) -> str:
    return crafted_token(_HELLO_TOKEN, **fields) if fields else _HELLO_TOKEN


SHOW = "def test_show(wasm_scheduler):\n    pass\n"


@pytest.mark.parametrize(("args", "env", "ini", "needle"), [
    (["--wasm-slice=abc"], {}, "", ("--wasm-slice: invalid value 'abc' from the command line "
                                    "(valid: a whole number from 1 to 1099511627776)")),
    (["--wasm-slice=9223372036854775807"], {}, "", "--wasm-slice: invalid value '9223372036854775807' from the "
                                                   "command line (valid: a whole number from 1 to "),
    (["--wasm-policy=replay"], {}, "", ("--wasm-policy: invalid value 'replay' from the command line (the replay "
                                        "policy needs a recorded schedule: pass the token a failure printed as "
                                        "--wasm-replay=TOKEN; valid: dfs, pct, portfolio, random, rr)")),
    (["--wasm-schedules=0"], {}, "", "--wasm-schedules: invalid value '0' from the command line"),
    (["--wasm-seed=1.5"], {}, "", "--wasm-seed: invalid value '1.5' from the command line"),
    ([], {"PYTEST_WASM_POLICY": "chaos"}, "", ("--wasm-policy: invalid value 'chaos' from the PYTEST_WASM_POLICY "
                                               "environment variable")),
    ([], {"PYTEST_WASM_SLICE": "-1"}, "", "--wasm-slice: invalid value '-1' from the PYTEST_WASM_SLICE"),
    ([], {}, "wasm_schedules = many", "--wasm-schedules: invalid value 'many' from the config file"),
    ([], {}, "wasm_seed = seven", "--wasm-seed: invalid value 'seven' from the config file"),
    (["--wasm-replay=wc1-"], {}, "", "--wasm-replay: invalid value 'wc1-' from the command line (damaged"),
    (["--wasm-replay=" + _token(p="chaos")], {}, "", "(damaged replay token (unknown scheduling policy 'chaos'"),
    (["--wasm-replay=" + _token(l="everything")], {}, "", "(damaged replay token (invalid instrumentation level"),
    (["--wasm-replay=" + _token(q=0)], {}, "", "(damaged replay token (the slice 0 is out of range"),
    (["--wasm-replay=" + _token(q=2**63 - 1)], {}, "", "(damaged replay token (the slice 9223372036854775807 is out"),
    (["--wasm-replay=" + _token(s=1.5)], {}, "", "(damaged replay token (the seed must be a whole number, got 1.5)"),
    (["--wasm-replay=" + _token(D=[0, -3], Q=[9, 9])], {}, "", "(damaged replay token (decision[1] = -3 is out of"),
    (["--wasm-replay=" + _token(D=[0, 0], Q=[9, 0])], {}, "", "(damaged replay token (recorded slice[1] = 0 is out"),
    (["--wasm-replay=" + _token(a=[1])], {}, "", "(damaged replay token (the guest arguments must be a list of str"),
    (["--wasm-replay=" + _token(v=1)], {}, "", "made by another version of pytest-wasmconc (format 1"),
    (["--wasm-replay=" + _token(w="0.0.1")], {}, "", "made with wasmtime 0.0.1"),
    (["--wasm-replay=" + _token() + "AAAA"], {}, "", "(damaged replay token (it does not decode)"),
    (["--wasm-trace-dir=notes.txt"], {}, "", ("--wasm-trace-dir: invalid value 'notes.txt' from the command line "
                                             "(notes.txt is a file")),
    (["--wasm-trace-dir=notes.txt/sub"], {}, "", "(notes.txt is a file"),
])
def test_a_bad_option_value_is_a_usage_error_naming_it(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str],
        ini: str, needle: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    if ini:
        pytester.makefile(".ini", tox=f"[pytest]\n{ini}\n")
    (pytester.path / "notes.txt").write_text("not a directory\n")
    pytester.makepyfile(SHOW)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=CHILD_LIMIT_S)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in result.stdout.str() + text
    assert needle in text, text


def test_an_unwritable_trace_dir_is_noted_in_the_failing_test_not_an_internal_error(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    blocker = tmp_path / "later-a-file"  # a valid trace dir at start-up; the test makes it a file
    pytester.makepyfile(f'''
import pathlib

def test_fails(wasm_scheduler):
    wasm_scheduler.run({str(HELLO)!r})
    pathlib.Path({str(blocker)!r}).write_text("")
    assert False
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--wasm-trace-dir={blocker}/traces",
                                           timeout=CHILD_LIMIT_S)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*--wasm-trace-dir {blocker}/traces: cannot write the trace:*"])
