"""poll_oneoff: clock and fd readiness subscriptions.

Blocking goes through the runtime: only clocks -> `Sleep` for the
earliest deadline; with fd subscriptions -> `Until(ready, timeout_ns)`.
Regular files and stdout/stderr are always ready; stdin is ready when its
source has data or hit EOF.

Choices that follow wasmtime (probed): no subscriptions, an unknown tag,
a CPU-time clock or unknown clock flags is EINVAL for the whole call; an
fd subscription on a bad fd or on an fd that cannot do that direction is
EBADF for the whole call; a ready fd event reports nbytes = 1; when clock
subscriptions share the earliest deadline, all of them fire.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

from ..runtime.hostapi import HostCall, Sleep, Until, Wait, WaitResult
from .errno import Errno, WasiError
from .fdtable import Handle
from .files import FileHandle
from .layout import (
    EVENT,
    SUBSCRIPTION_CLOCK,
    SUBSCRIPTION_FD,
    SUBSCRIPTION_HEAD,
    SUBSCRIPTION_SIZE,
    Clockid,
    Eventtype,
    Subclockflags,
)
from .state import WasiState
from .stdio import OutputHandle, StdinHandle

__all__ = ["poll_oneoff"]


@dataclass(eq=False)
class _ClockSub:
    userdata: int
    remaining_ns: int  # from the start of the call; <= 0 means already due


@dataclass(eq=False)
class _FdSub:
    userdata: int
    kind: Eventtype
    fd: int
    ready: Callable[[], bool]


def _fd_readiness(handle: Handle, kind: Eventtype) -> Callable[[], bool] | None:
    """The readiness test for this direction, None if the fd cannot do it."""
    if isinstance(handle, FileHandle):
        return lambda: True
    if kind is Eventtype.FD_READ and isinstance(handle, StdinHandle):
        handle.source.arm()
        return handle.source.ready
    if kind is Eventtype.FD_WRITE and isinstance(handle, OutputHandle):
        return lambda: True
    return None


def _parse(
    st: WasiState, call: HostCall, in_ptr: int, count: int
) -> tuple[list[_ClockSub | _FdSub], list[_ClockSub], list[_FdSub]]:
    raw = call.memory.read(in_ptr, SUBSCRIPTION_SIZE * count)
    order: list[_ClockSub | _FdSub] = []
    clocks: list[_ClockSub] = []
    fds: list[_FdSub] = []
    for i in range(count):
        base = i * SUBSCRIPTION_SIZE
        userdata, tag = SUBSCRIPTION_HEAD.unpack_from(raw, base)
        if tag == Eventtype.CLOCK:
            clock_id, timeout, _precision, flags = SUBSCRIPTION_CLOCK.unpack_from(raw, base + 16)
            if flags & ~int(Subclockflags.SUBSCRIPTION_CLOCK_ABSTIME):
                raise WasiError(Errno.INVAL, "unknown subclockflags")
            absolute = bool(flags & Subclockflags.SUBSCRIPTION_CLOCK_ABSTIME)
            if clock_id == Clockid.MONOTONIC:
                remaining = timeout - call.monotonic_ns() if absolute else timeout
            elif clock_id == Clockid.REALTIME:
                remaining = timeout - call.realtime_ns() if absolute else timeout
            else:
                raise WasiError(Errno.INVAL, f"cannot wait on clock {clock_id}")
            clock = _ClockSub(userdata, remaining)
            clocks.append(clock)
            order.append(clock)
        elif tag in (Eventtype.FD_READ, Eventtype.FD_WRITE):
            (fd,) = SUBSCRIPTION_FD.unpack_from(raw, base + 16)
            kind = Eventtype(tag)
            handle = st.table.peek(fd)
            ready = None if handle is None else _fd_readiness(handle, kind)
            if ready is None:
                raise WasiError(Errno.BADF, f"fd {fd} cannot be polled for {kind.name}")
            fdsub = _FdSub(userdata, kind, fd, ready)
            fds.append(fdsub)
            order.append(fdsub)
        else:
            raise WasiError(Errno.INVAL, f"unknown subscription tag {tag}")
    return order, clocks, fds


def poll_oneoff(
    st: WasiState, call: HostCall, in_ptr: int, out_ptr: int, nsubscriptions: int, nevents_ptr: int
) -> Generator[Wait, WaitResult, int]:
    if nsubscriptions == 0:
        raise WasiError(Errno.INVAL, "no subscriptions")
    order, clocks, fds = _parse(st, call, in_ptr, nsubscriptions)
    earliest = min((c.remaining_ns for c in clocks), default=None)
    start = call.monotonic_ns()
    names = ", ".join(f"{f.kind.name.lower()}({f.fd})" for f in fds)
    while True:
        elapsed = call.monotonic_ns() - start
        fired: list[_ClockSub | _FdSub] = [f for f in fds if f.ready()]
        # Clocks that are due fire, alone or along with ready fds.
        fired += [c for c in clocks if c.remaining_ns <= elapsed]
        if fired:
            break
        left = None if earliest is None else earliest - elapsed
        if not fds:
            assert left is not None
            yield Sleep(left)
        else:
            # Loops again after waking: another thread may have consumed the
            # data first (OS-thread mode), and a poll must report something.
            yield Until(
                ready=lambda: any(f.ready() for f in fds),
                timeout_ns=left,
                describe=f"poll_oneoff({names})",
                # Only stdin can be not-ready, and it depends on the world.
                external=True,
            )

    events = bytearray()
    for sub in order:
        if sub not in fired:
            continue
        if isinstance(sub, _ClockSub):
            events += EVENT.pack(sub.userdata, 0, Eventtype.CLOCK, 0, 0)
        else:
            events += EVENT.pack(sub.userdata, 0, sub.kind, 1, 0)
    call.memory.write(out_ptr, bytes(events))
    call.memory.store_u32(nevents_ptr, len(events) // EVENT.size)
    return 0
