"""Every bad input to `wasmconc` gives exit 2 and one line naming the cause: no traceback."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from child_processes import CHILD_LIMIT_S

GUESTS = Path(__file__).resolve().parents[2] / "guests"


def wasmconc(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], input=stdin, check=False,
                          capture_output=True, text=True, timeout=CHILD_LIMIT_S)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def wat_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    cfg = wasmtime.Config()
    cfg.wasm_threads = True
    cfg.shared_memory = True
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def test_missing_file(tmp_path: Path) -> None:
    assert_one_line_error(wasmconc("run", str(tmp_path / "nope.wasm")), "nope.wasm", "no such file")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.wasm").write_bytes(b"")
    assert_one_line_error(wasmconc("run", str(tmp_path / "empty.wasm")), "empty.wasm", "empty")


def test_not_wasm(tmp_path: Path) -> None:
    (tmp_path / "text.wasm").write_text("hello world\n")
    assert_one_line_error(wasmconc("run", str(tmp_path / "text.wasm")), "text.wasm", "not a WebAssembly module")


def test_malformed_text_instead_of_binary(tmp_path: Path) -> None:
    # text is accepted (test_wat_runtime_and_cli.py); this text is not
    (tmp_path / "prog.wasm").write_text("(module (func)))")
    assert_one_line_error(wasmconc("run", str(tmp_path / "prog.wasm")), "prog.wasm:1:16: invalid WebAssembly text")


def test_truncated_module(tmp_path: Path) -> None:
    data = (GUESTS / "c" / "mutex_counter.wasm").read_bytes()
    (tmp_path / "cut.wasm").write_bytes(data[: len(data) // 2])
    assert_one_line_error(wasmconc("run", str(tmp_path / "cut.wasm")), "cut.wasm")


def test_component_where_a_module_is_expected(tmp_path: Path) -> None:
    (tmp_path / "comp.wasm").write_bytes(b"\0asm\x0d\x00\x01\x00")
    assert_one_line_error(wasmconc("run", str(tmp_path / "comp.wasm")), "component")


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert_one_line_error(wasmconc("run", str(tmp_path)), "directory")


def test_missing_preopen_directory(tmp_path: Path) -> None:
    proc = wasmconc("run", "--dir", str(tmp_path / "absent") + "::.", str(GUESTS / "c" / "thread_file.wasm"))
    assert_one_line_error(proc, "absent")


def test_unknown_import_is_named(tmp_path: Path) -> None:
    path = wat_file(tmp_path, "imp.wasm", """(module
      (import "mystery" "frobnicate" (func (param i32)))
      (memory (export "memory") 1)
      (func (export "_start")))""")
    assert_one_line_error(wasmconc("run", str(path)), "unknown import", "mystery.frobnicate")


def test_thread_spawn_without_wasi_thread_start(tmp_path: Path) -> None:
    path = wat_file(tmp_path, "nostart.wasm", """(module
      (import "wasi" "thread-spawn" (func (param i32) (result i32)))
      (import "env" "memory" (memory 1 1 shared))
      (func (export "_start")))""")
    assert_one_line_error(wasmconc("run", str(path)), "wasi_thread_start")


def test_wasi_guest_without_memory_export(tmp_path: Path) -> None:
    path = wat_file(tmp_path, "nomem.wasm", """(module
      (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
      (memory 1)
      (func (export "_start")))""")
    assert_one_line_error(wasmconc("run", str(path)), "memory")


def test_missing_start_export(tmp_path: Path) -> None:
    path = wat_file(tmp_path, "lib.wasm", '(module (func (export "f")))')
    assert_one_line_error(wasmconc("run", str(path)), "_start")


def test_memory_maximum_larger_than_the_host_allows(tmp_path: Path) -> None:
    path = wat_file(tmp_path, "huge.wasm", """(module
      (import "wasi" "thread-spawn" (func (param i32) (result i32)))
      (import "env" "memory" (memory 70000 70000 shared))
      (func (export "wasi_thread_start") (param i32 i32))
      (func (export "_start")))""")
    proc = wasmconc("run", str(path))
    assert_one_line_error(proc, "huge.wasm")


@pytest.mark.parametrize("args,needle", [
    (["run", "--preempt", "turbo", "x.wasm"], "turbo"),
    (["run", "--slice", "0", "x.wasm"], "slice"),
    (["explore", "--schedules", "many", "x.wasm"], "many"),
    (["run", "--env", "NOVALUE", "x.wasm"], "NAME=VALUE"),
    (["run", "--policy", "chaos", "x.wasm"], "chaos"),
    ([], "missing command"),
    (["frobnicate"], "frobnicate"),
])
def test_usage_errors(args: list[str], needle: str) -> None:
    assert_one_line_error(wasmconc(*args), needle)


def test_replay_with_a_damaged_token() -> None:
    proc = wasmconc("replay", str(GUESTS / "c" / "mutex_counter.wasm"), "wc1-garbage")
    assert_one_line_error(proc, "token")


# -- signatures, memories and components ----------------------------------------------------------


@pytest.mark.parametrize(("wat", "needles"), [
    ('(module (import "env" "f" (func (param v128))) (memory (export "memory") 1) (func (export "_start")))',
     ("imports env.f as (v128) -> ()", "not v128")),
    ('(module (import "env" "f" (func (result externref))) (memory (export "memory") 1) (func (export "_start")))',
     ("imports env.f as () -> (externref)", "not externref")),
    ('(module (memory (export "memory") 1) (func (export "_start") (param i32)))',
     ("exports _start as (i32) -> (), but it must be () -> ()",)),
    ('(module (memory (export "memory") 1) (func (export "_start") (result i32) (i32.const 0)))',
     ("exports _start as () -> (i32)",)),
    ('''(module (import "wasi" "thread-spawn" (func $s (param i32) (result i32)))
        (import "env" "memory" (memory 1 1 shared))
        (func (export "wasi_thread_start") (param i64))
        (func (export "_start") (drop (call $s (i32.const 0)))))''',
     ("exports wasi_thread_start as (i64) -> (), but it must be (i32 i32) -> ()",)),
    (('(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32))) (memory (export "memory") 1) '
      '(func (export "_start")))'), ("import signature mismatch: wasi_snapshot_preview1.fd_write",)),
    ('(module (memory (export "memory") 1) (global (export "_start") i32 (i32.const 0)))',
     ("exports no _start function",)),
    ('(module (import "env" "memory" (memory i64 0x100000000 0x100000000 shared)) (func (export "_start")))',
     ("cannot create its shared memory",)),
], ids=["v128-param", "externref-result", "start-with-params", "start-with-result", "thread-start-mistyped",
        "wasi-import-mistyped", "start-not-a-function", "shared-memory-beyond-the-host"])
def test_a_mistyped_or_unsupported_guest_is_one_line_naming_it(tmp_path: Path, wat: str,
                                                                needles: tuple[str, ...]) -> None:
    path = wat_file(tmp_path, "odd.wasm", wat)
    for command in ("run", "explore"):
        assert_one_line_error(wasmconc(command, str(path)), "odd.wasm", *needles)


def test_a_module_header_alone_is_truncated(tmp_path: Path) -> None:
    (tmp_path / "head.wasm").write_bytes(b"\0asm\x01")
    assert_one_line_error(wasmconc("run", str(tmp_path / "head.wasm")), "head.wasm", "truncated")


def test_an_empty_module_is_not_a_command(tmp_path: Path) -> None:
    (tmp_path / "bare.wasm").write_bytes(b"\0asm\x01\x00\x00\x00")
    assert_one_line_error(wasmconc("explore", str(tmp_path / "bare.wasm")), "bare.wasm", "exports no _start")


def test_a_truncated_component(tmp_path: Path) -> None:
    data = (GUESTS / "components" / "stream_one_shot.wasm").read_bytes()
    (tmp_path / "cut.wasm").write_bytes(data[:300])
    assert_one_line_error(wasmconc("run", str(tmp_path / "cut.wasm")), "cut.wasm", "invalid WebAssembly component")


def test_an_unknown_binary_version(tmp_path: Path) -> None:
    (tmp_path / "v2.wasm").write_bytes(b"\0asm\x02\x00\x00\x00")
    assert_one_line_error(wasmconc("run", str(tmp_path / "v2.wasm")), "v2.wasm",
                          "unsupported WebAssembly binary version")


def test_lock_order_check_of_a_component_is_refused() -> None:
    comp = str(GUESTS / "components" / "stream_one_shot.wasm")
    for command in ("run", "explore"):
        assert_one_line_error(wasmconc(command, "--check", "lock-order", comp), "stream_one_shot.wasm",
                              "is a WebAssembly component", "lock-order")


def test_a_component_with_a_preopened_directory(tmp_path: Path) -> None:
    comp = str(GUESTS / "components" / "stream_one_shot.wasm")
    assert_one_line_error(wasmconc("run", "--dir", str(tmp_path), comp), "preopened directories are not supported")


# -- flags ----------------------------------------------------------------------------------------------

HELLO = str(GUESTS / "wat" / "single_hello.wasm")


@pytest.mark.parametrize("args,needle", [
    (["run", "--dir", "/tmp::", HELLO], "empty guest path"),
    (["run", "--dir", "::/x", HELLO], "empty host directory"),
    (["run", "--dir", HELLO + "::/x", HELLO], "single_hello.wasm: not a directory"),
    (["run", "--env", "=x", HELLO], "NAME=VALUE"),
    (["run", "--arg", "x", HELLO], "unrecognized arguments: --arg"),
    (["run", "--check", "data-races", HELLO], "data-races"),
    (["run", "--wasi", "wasix", HELLO], "wasix"),
    (["run", "--wasi-fault", "bogus", HELLO], "--wasi-fault: unknown fault 'bogus'"),
    (["run", "--wasi-fault", "max-read=abc", HELLO], "--wasi-fault: fault 'max-read=abc'"),
    (["run", "--wasi-fault", "eintr-probability=2", HELLO], "within [0, 1]"),
    (["run", "--wasi", "native", "--wasi-fault", "max-read=1", HELLO], "--wasi-fault needs --wasi sandbox"),
    (["run", "--level", "everything", HELLO], "everything"),
    (["run", "--max-steps", "0", HELLO], ("--max-steps: invalid value '0' from the command line "
                                          "(valid: a whole number >= 1, or none for no step budget)")),
    (["run", "--timeout", "-1", HELLO], ("--timeout: invalid value '-1' from the command line "
                                         "(valid: positive seconds, or none (or 0) for no backstop)")),
    (["run", "--timeout", "soon", HELLO], "--timeout: invalid value 'soon' from the command line (valid: "),
    (["run", "--timeout", "nan", HELLO], "--timeout: invalid value 'nan' from the command line (valid: "),
    (["run", "--timeout", "inf", HELLO], "--timeout: invalid value 'inf' from the command line (valid: "),
    (["run", "--seed", "abc", HELLO], ("--seed: invalid value 'abc' from the command line "
                                       "(valid: a whole number, or random)")),
    (["run", "--slice", "-3", HELLO], "--slice: invalid value '-3' from the command line (valid: a whole number "
                                      "from 1 to 1099511627776)"),
    (["run", "--slice", str(2**63 - 1), HELLO], "--slice: invalid value '9223372036854775807' from the command"),
    (["run", "--depth", "0", HELLO], "--depth: invalid value '0' from the command line (valid: a whole number "
                                     "from 1 to 2147483648)"),
    (["explore", "--level", "all", HELLO], "--level: invalid value 'all' from the command line "
                                           "(valid: waits, atomics, memory, shared)"),
    (["explore", "--policy", "chess", HELLO], "--policy: invalid value 'chess' from the command line "
                                            "(valid: dfs, pct, portfolio, random, rr)"),
    (["replay", "--level", "memory", HELLO, "wc1-x"], "unrecognized arguments: --level"),
    (["replay", "--seed", "3", HELLO, "wc1-x"], "unrecognized arguments: --seed"),
    (["run", "--stream-budget", "0", HELLO], "--stream-budget: must be at least 1"),
    (["run", "--stream-flush-steps", "-1", HELLO], "--stream-flush-steps: must be at least 0"),
    (["run", "--stream-fault", "nope", HELLO], "nope"),
    (["run", "--stream-expect", "write", HELLO], "--stream-expect needs --check streams"),
    (["run", "--check", "streams", "--stream-expect", "((", HELLO], "--stream-expect:"),
    (["explore", "--schedules", "0", HELLO], "--schedules: invalid value '0' from the command line (valid: a whole "
                                             "number >= 1)"),
    (["explore", "--expect-exit", "x", HELLO], "--expect-exit: expected a whole number"),
    (["replay", HELLO], "TOKEN"),
    (["replay", HELLO, ""], "not a wasmconc replay token"),
    (["run"], "GUEST.wasm"),
    (["run", "a.wasm", "b.wasm"], "unrecognized arguments: b.wasm"),
])
def test_every_bad_flag_is_a_one_line_usage_error(args: list[str], needle: str) -> None:
    assert_one_line_error(wasmconc(*args), needle)


@functools.cache
def _hello_token() -> str:
    from pytest_wasmconc.runtime import Runner

    token = Runner().run(HELLO).token
    assert token is not None
    return token


def _token(**fields: object) -> str:
    """A real token of HELLO run without arguments, with its JSON fields replaced (token_craft.crafted)."""
    from token_craft import crafted

    return crafted(_hello_token(), **fields) if fields else _hello_token()


@pytest.mark.parametrize(("token", "needle"), [
    (_token(p="chaos"), "damaged replay token (unknown scheduling policy 'chaos'"),
    (_token(l="everything"), "damaged replay token (invalid instrumentation level"),
    (_token(q=0), "damaged replay token (the slice 0 is out of range"),
    (_token(q=2**63 - 1), "damaged replay token (the slice 9223372036854775807 is out of range"),
    (_token(d=0), "damaged replay token (the depth 0 is out of range"),
    (_token(s="7"), "damaged replay token (the seed must be a whole number, got '7')"),
    (_token(D=[0, 0], Q=[10, -5]), "damaged replay token (recorded slice[1] = -5 is out of range"),
    (_token(D=[0, 0], Q=[10, 2**62]), "damaged replay token (recorded slice[1] = 4611686018427387904 is out"),
    (_token(D=[0, 2**40], Q=[10, 10]), "damaged replay token (decision[1] = 1099511627776 is out of range"),
    (_token(D=[0, -1], Q=[10, 10]), "damaged replay token (decision[1] = -1 is out of range"),
    (_token(a="x"), "damaged replay token (the guest arguments must be a list of strings"),
    (_token(w="0.0.1"), "made with wasmtime 0.0.1"),
    (_token(v=1), "made by another version of pytest-wasmconc"),
    (_token() + "AAAA", "damaged replay token (it does not decode)"),
    (_token()[:-6], "damaged replay token (it does not decode)"),
])
def test_a_replay_token_with_bad_fields_is_refused(token: str, needle: str) -> None:
    assert_one_line_error(wasmconc("replay", HELLO, token), needle)


# Printed by the previous token format (no guest, no arguments) for mutex_counter.wasm.
OLD_FORMAT = ("wc1-eNoNykEKgDAQA8C_5LyULVWR_U2xFgRr1YoexL-bHAIT8iLBgmCGQWNIox86zRCsHOJVyzI1aqfOuKVaiAPmlRE0GPumBQ8vvTp"
              "1Ht8PudMVTA")


def test_a_token_of_the_previous_format_is_refused_as_made_by_another_version() -> None:
    assert_one_line_error(wasmconc("replay", str(GUESTS / "c" / "mutex_counter.wasm"), OLD_FORMAT),
                          "made by another version of pytest-wasmconc (format 1", "get a token for this version")


def test_a_token_made_on_another_guest_is_refused() -> None:
    assert_one_line_error(wasmconc("replay", str(GUESTS / "c" / "mutex_counter.wasm"), _token()),
                          "made for another guest: single_hello.wasm (sha256 ", "not mutex_counter.wasm")


def test_a_token_made_with_other_guest_arguments_is_refused() -> None:
    proc = wasmconc("replay", HELLO, _token(), "--", "extra")
    assert_one_line_error(proc, "made for single_hello.wasm with the arguments [], not ['extra']")
    assert proc.stdout == ""  # refused before the guest ran


def test_a_token_of_the_right_guest_and_arguments_replays() -> None:
    proc = wasmconc("replay", HELLO, _token())
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hello\n", "")


def test_a_recorded_schedule_that_does_not_fit_the_guest_is_refused_in_one_line() -> None:
    # Thread 5 is a possible id, but mutex_counter has not spawned it when the schedule names it.
    from token_craft import crafted

    from pytest_wasmconc.runtime import GuestIO, Runner

    guest = GUESTS / "c" / "mutex_counter.wasm"
    token = Runner().run(guest, GuestIO()).token
    assert token is not None
    proc = wasmconc("replay", str(guest), crafted(token, p="replay", D=[0, 5, 0], Q=[10, 10, 10]))
    assert_one_line_error(proc, "the replayed schedule does not fit this execution: schedule diverged at decision 1")


@pytest.mark.parametrize("command", ["run", "explore"])
def test_the_replay_policy_without_a_token_is_a_usage_error(command: str) -> None:
    assert_one_line_error(wasmconc(command, "--policy", "replay", HELLO),
                          "--policy: invalid value 'replay' from the command line (the replay policy needs a recorded "
                          "schedule: use `wasmconc replay GUEST TOKEN` with the token a failure printed; "
                          "valid: dfs, pct, portfolio, random, rr)")


def test_replay_of_a_missing_guest_names_it(tmp_path: Path) -> None:
    assert_one_line_error(wasmconc("replay", str(tmp_path / "gone.wasm"), _token()), "gone.wasm: no such file")


@pytest.mark.parametrize("mode", ["fuel", "epoch", "os"])
def test_own_memory_larger_than_the_host_can_reserve_is_a_module_error(tmp_path: Path, mode: str) -> None:
    # The guest's own (unshared) memory is created at instantiation, on the
    # guest thread: the error must still come out as one line, not as a trap.
    path = wat_file(tmp_path, "huge.wasm", '(module (memory i64 4294967296) (func (export "_start")))')
    assert_one_line_error(wasmconc("run", "--preempt", mode, str(path)), "huge.wasm", "cannot instantiate")
