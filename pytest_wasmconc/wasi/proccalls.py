"""args, environ, clocks, randomness, process control, scheduling and sockets.

Everything nondeterministic goes through the `HostCall` (virtual clocks
and seeded randomness in deterministic mode).
"""

from __future__ import annotations

from collections.abc import Generator

from ..runtime.hostapi import GiveUp, GuestExit, GuestTrap, HostCall, Wait, WaitResult
from .errno import Errno, WasiError
from .layout import SIGNAL_MAX, Clockid, Fdflags, Riflags, Sdflags, check_enum, check_flags
from .state import WasiState

__all__ = [
    "args_get",
    "args_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "environ_get",
    "environ_sizes_get",
    "proc_exit",
    "proc_raise",
    "random_get",
    "sched_yield",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
]


def _sizes(call: HostCall, items: list[bytes], count_ptr: int, size_ptr: int) -> int:
    call.memory.store_u32(count_ptr, len(items))
    call.memory.store_u32(size_ptr, sum(len(i) + 1 for i in items))
    return 0


def _strings(call: HostCall, items: list[bytes], ptrs_ptr: int, buf_ptr: int) -> int:
    mem = call.memory
    offset = buf_ptr
    for i, item in enumerate(items):
        mem.store_u32(ptrs_ptr + 4 * i, offset)
        mem.write(offset, item + b"\0")
        offset += len(item) + 1
    return 0


def args_sizes_get(st: WasiState, call: HostCall, argc_ptr: int, size_ptr: int) -> int:
    return _sizes(call, st.args, argc_ptr, size_ptr)


def args_get(st: WasiState, call: HostCall, argv_ptr: int, buf_ptr: int) -> int:
    return _strings(call, st.args, argv_ptr, buf_ptr)


def environ_sizes_get(st: WasiState, call: HostCall, count_ptr: int, size_ptr: int) -> int:
    return _sizes(call, st.env, count_ptr, size_ptr)


def environ_get(st: WasiState, call: HostCall, environ_ptr: int, buf_ptr: int) -> int:
    return _strings(call, st.env, environ_ptr, buf_ptr)


def _now(call: HostCall, clock_id: int) -> int:
    if clock_id == Clockid.REALTIME:
        return call.realtime_ns()
    # The CPU-time clocks are served by the execution's monotonic clock: it
    # is virtual (so replays) in deterministic mode, and a guest only ever
    # uses them for differences. wasmtime returns EBADF for them instead.
    return call.monotonic_ns()


def clock_res_get(st: WasiState, call: HostCall, clock_id: int, resolution_ptr: int) -> int:
    check_enum(Clockid, clock_id)
    call.memory.store_u64(resolution_ptr, 1)  # nanoseconds, as wasmtime reports
    return 0


def clock_time_get(
    st: WasiState, call: HostCall, clock_id: int, precision: int, time_ptr: int
) -> int:
    check_enum(Clockid, clock_id)
    call.memory.store_u64(time_ptr, _now(call, clock_id) & ((1 << 64) - 1))
    return 0


def random_get(st: WasiState, call: HostCall, buf_ptr: int, buf_len: int) -> int:
    if buf_len:
        call.memory.write(buf_ptr, call.random_bytes(buf_len))
    return 0


def proc_exit(st: WasiState, call: HostCall, code: int) -> None:
    raise GuestExit(code)


def proc_raise(st: WasiState, call: HostCall, sig: int) -> int:
    if sig > SIGNAL_MAX:
        raise GuestTrap(f"invalid enum value Signal {sig}")
    # wasmtime answers ENOTSUP (not ENOSYS).
    raise WasiError(Errno.NOTSUP, "proc_raise")


def sched_yield(st: WasiState, call: HostCall) -> Generator[Wait, WaitResult, int]:
    yield GiveUp()
    return 0


def _not_a_socket(st: WasiState, fd: int) -> WasiError:
    if st.table.peek(fd) is None:
        return WasiError(Errno.BADF, f"fd {fd}")
    # Nothing in this host is a socket (no sockets are preopened).
    return WasiError(Errno.NOTSOCK, f"fd {fd} is not a socket")


def sock_accept(st: WasiState, call: HostCall, fd: int, flags: int, fd_ptr: int) -> int:
    check_flags(Fdflags, flags)
    raise _not_a_socket(st, fd)


def sock_recv(
    st: WasiState,
    call: HostCall,
    fd: int,
    ri_data: int,
    ri_data_len: int,
    ri_flags: int,
    ro_datalen_ptr: int,
    ro_flags_ptr: int,
) -> int:
    check_flags(Riflags, ri_flags)
    raise _not_a_socket(st, fd)


def sock_send(
    st: WasiState,
    call: HostCall,
    fd: int,
    si_data: int,
    si_data_len: int,
    si_flags: int,
    so_datalen_ptr: int,
) -> int:
    raise _not_a_socket(st, fd)


def sock_shutdown(st: WasiState, call: HostCall, fd: int, how: int) -> int:
    check_flags(Sdflags, how)
    raise _not_a_socket(st, fd)
