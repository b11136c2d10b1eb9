"""Guests and files: wasi_sandbox is a WASI world in the test's tmp_path."""

from __future__ import annotations


def test_a_worker_thread_reads_a_file_the_test_put_in_the_sandbox(wasm_scheduler, wasi_sandbox, c_guest):
    wasi_sandbox.write_text("test.txt", "hello from the host\n")  # the guest's ./test.txt
    outcome = wasm_scheduler.run(c_guest("thread_file"), sandbox=wasi_sandbox)
    assert outcome.exit_code == 0
    assert outcome.stdout == "hello from the host\n"


def test_the_sandbox_shows_what_the_guest_wrote(wasm_scheduler, wasi_sandbox, wat_guest):
    outcome = wasm_scheduler.run(wat_guest("writer"), sandbox=wasi_sandbox)
    assert outcome.exit_code == 0
    assert wasi_sandbox.written == {"out.txt": b"written by a guest thread\n"}
    assert (wasi_sandbox.root / "out.txt").read_text() == "written by a guest thread\n"


def test_every_schedule_of_an_exploration_writes_the_file(wasm_scheduler, wasi_sandbox, wat_guest):
    outcome = wasm_scheduler.explore(wat_guest("writer"), sandbox=wasi_sandbox, schedules=20)
    assert outcome.stdout == "main: worker done\n"
    assert wasi_sandbox.read_text("out.txt") == "written by a guest thread\n"


def test_without_a_sandbox_the_guest_has_no_directory_to_write_to(wasm_scheduler, wat_guest):
    wasm_scheduler.run(wat_guest("writer"), expect_exit=1)  # any other ending fails the test


def test_more_host_directories_can_be_preopened(wasm_scheduler, wasi_sandbox, c_guest, data_dir):
    # The guest's "." is sandbox.root by default; preopen() adds more directories.
    extra = wasi_sandbox.preopen("/data", data_dir)
    assert wasi_sandbox.host_path("/data/test.txt") == extra / "test.txt"
    wasi_sandbox.write_text("test.txt", (data_dir / "test.txt").read_text())
    outcome = wasm_scheduler.run(c_guest("thread_file"), sandbox=wasi_sandbox)
    assert outcome.stdout == (data_dir / "test.txt").read_text()
