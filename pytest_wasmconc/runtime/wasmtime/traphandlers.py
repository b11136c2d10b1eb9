"""Keep Wasmtime's trap signal handlers first in line.

Wasmtime turns a guest trap (`unreachable` is `ud2`, an out-of-bounds access a
fault on a guard page) into a Python-visible error with process-wide signal
handlers, installed when the first Engine is created. Anything that sets a
handler for those signals later takes the trap away from Wasmtime, and the next
guest trap kills the process. That happens in ordinary test runs:
`faulthandler.disable()` restores the handlers it saw when it was enabled, so
pytest's faulthandler plugin, unconfigured at the end of an in-process
`pytester` run, silently removes Wasmtime's handlers (a worker that later runs
a trapping guest dies with SIGILL and no traceback).

`remember()` records Wasmtime's handlers right after an engine exists;
`ensure()`, called before guest code runs, puts them back if something replaced
them. Restoring is safe for whoever replaced them: Wasmtime passes every signal
that is not a guest trap on to the handler it found when it installed itself.
Windows traps through vectored exception handlers, which nothing here touches.
"""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
from typing import Any

__all__ = ["ensure", "remember", "restored_count"]

# Large enough for `struct sigaction` on every Unix (152 bytes on Linux x86_64);
# only the first field, the handler address, is read.
_SIGACTION_BYTES = 512
_TRAP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGSEGV", "SIGILL", "SIGFPE", "SIGBUS") if hasattr(signal, name)
)


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


_libc: ctypes.CDLL | None = None
if sys.platform != "win32":
    try:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        _libc.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    except (OSError, AttributeError):  # pragma: no cover - a libc without them: nothing to guard
        _libc = None

_saved: dict[int, ctypes.Array[ctypes.c_char]] = {}
_lock = threading.Lock()
_restored = [0]


def _current(sig: int) -> ctypes.Array[ctypes.c_char] | None:
    assert _libc is not None
    buf = ctypes.create_string_buffer(_SIGACTION_BYTES)
    if _libc.sigaction(sig, None, buf) != 0:
        return None
    return buf


def _handler_address(action: ctypes.Array[ctypes.c_char]) -> int:
    return ctypes.c_void_p.from_buffer(action).value or 0


def _is_wasmtimes(address: int) -> bool:
    """Whether the handler's code lives in Wasmtime's shared library."""
    if address <= 1:  # SIG_DFL (0) or SIG_IGN (1)
        return False
    assert _libc is not None
    info = _DlInfo()
    if not _libc.dladdr(ctypes.c_void_p(address), ctypes.byref(info)) or not info.dli_fname:
        return False
    return b"wasmtime" in info.dli_fname


# ensure() runs before every execution: its reads go through one preallocated
# buffer and an address-typed sigaction, no ctypes objects per call.
_probe = ctypes.create_string_buffer(_SIGACTION_BYTES)
_probe_address = ctypes.addressof(_probe)
_probe_handler = ctypes.c_void_p.from_buffer(_probe)
_read_action: Any = (ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(
    ctypes.cast(_libc.sigaction, ctypes.c_void_p).value or 0) if _libc is not None else None)
_saved_addresses: list[tuple[int, int]] = []  # (signal, Wasmtime's handler address), filled with _saved


def remember() -> None:
    """Record Wasmtime's handlers once, right after the process's first engine exists.

    Only handlers whose code is in Wasmtime's library are recorded (not every
    platform uses every signal: Linux has no SIGBUS handler).
    """
    if _libc is None or _saved:
        return
    with _lock:
        for sig in _TRAP_SIGNALS:
            action = _current(sig)
            if action is not None and _is_wasmtimes(_handler_address(action)):
                _saved[sig] = action
                _saved_addresses.append((sig, _handler_address(action)))


def ensure() -> None:
    """Put back any of Wasmtime's handlers that something has replaced (about a microsecond)."""
    if _libc is None:
        return
    if not _saved:
        remember()  # an engine created outside engine_for() installed them
        if not _saved:
            return
    with _lock:  # one probe buffer
        for sig, address in _saved_addresses:
            # A read of the current handler only: the common case touches nothing.
            if _read_action(sig, 0, _probe_address) == 0 and _probe_handler.value == address:
                continue
            if _libc.sigaction(sig, _saved[sig], None) == 0:
                _restored[0] += 1


def restored_count() -> int:
    """How many times a displaced handler was put back in this process (for tests and diagnostics)."""
    return _restored[0]
