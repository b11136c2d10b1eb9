"""WasiPreview1.renew: an exploration's next execution gets a new state from the same configuration, with the
same host function objects (runtime/kept_world.py builds them once per exploration)."""

from __future__ import annotations

from pytest_wasmconc.wasi import WasiPreview1

from .fakes import HostDriver
from .guest import Guest


def test_renew_gives_a_new_state_and_keeps_the_host_functions(wasi: WasiPreview1, driver: HostDriver,
                                                                g: Guest) -> None:
    functions = wasi.functions(["fd_write", "path_open", "fd_close"])
    err, fd = g.path_open("f")
    assert err == 0 and fd == 4
    assert g.write(1, b"first execution")[0] == 0
    old_state = wasi.state

    wasi.renew()

    assert wasi.state is not old_state
    assert wasi.stdout == b""  # the output of the execution before is not this one's
    assert wasi.open_fds() == [0, 1, 2, 3]  # stdio and the preopen, as a new host has them
    assert old_state.table.fds() == []  # the old execution's descriptors were closed
    again = wasi.functions(["fd_write", "path_open", "fd_close"])
    assert all(a is b for a, b in zip(functions, again, strict=True))
    # The kept host functions serve the new state: the lowest free fd again, output to the new log.
    assert g.path_open("f") == (0, 4)
    assert g.write(1, b"second")[0] == 0
    assert wasi.stdout == b"second"
    assert [entry.call for entry in wasi.trace] == ["path_open", "fd_write"]
