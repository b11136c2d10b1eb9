"""WASI preview1 errno values and the mapping from host `OSError`s.

Host functions signal failure by raising `WasiError`; the dispatcher in
`preview1` turns it into the errno the guest sees. Host `OSError`s are
mapped by name so that the table stays right on every platform (the
numeric values of `errno.E*` differ between Linux and macOS).
"""

from __future__ import annotations

import enum
import errno as _host_errno

__all__ = ["Errno", "WasiError", "errno_from_oserror"]


class Errno(enum.IntEnum):
    """`$errno` from the preview1 witx, in witx order (the value is the index)."""

    SUCCESS = 0
    TOOBIG = 1  # E2BIG
    ACCES = 2
    ADDRINUSE = 3
    ADDRNOTAVAIL = 4
    AFNOSUPPORT = 5
    AGAIN = 6
    ALREADY = 7
    BADF = 8
    BADMSG = 9
    BUSY = 10
    CANCELED = 11
    CHILD = 12
    CONNABORTED = 13
    CONNREFUSED = 14
    CONNRESET = 15
    DEADLK = 16
    DESTADDRREQ = 17
    DOM = 18
    DQUOT = 19
    EXIST = 20
    FAULT = 21
    FBIG = 22
    HOSTUNREACH = 23
    IDRM = 24
    ILSEQ = 25
    INPROGRESS = 26
    INTR = 27
    INVAL = 28
    IO = 29
    ISCONN = 30
    ISDIR = 31
    LOOP = 32
    MFILE = 33
    MLINK = 34
    MSGSIZE = 35
    MULTIHOP = 36
    NAMETOOLONG = 37
    NETDOWN = 38
    NETRESET = 39
    NETUNREACH = 40
    NFILE = 41
    NOBUFS = 42
    NODEV = 43
    NOENT = 44
    NOEXEC = 45
    NOLCK = 46
    NOLINK = 47
    NOMEM = 48
    NOMSG = 49
    NOPROTOOPT = 50
    NOSPC = 51
    NOSYS = 52
    NOTCONN = 53
    NOTDIR = 54
    NOTEMPTY = 55
    NOTRECOVERABLE = 56
    NOTSOCK = 57
    NOTSUP = 58
    NOTTY = 59
    NXIO = 60
    OVERFLOW = 61
    OWNERDEAD = 62
    PERM = 63
    PIPE = 64
    PROTO = 65
    PROTONOSUPPORT = 66
    PROTOTYPE = 67
    RANGE = 68
    ROFS = 69
    SPIPE = 70
    SRCH = 71
    STALE = 72
    TIMEDOUT = 73
    TXTBSY = 74
    XDEV = 75
    NOTCAPABLE = 76


class WasiError(Exception):
    """Raised inside host functions; the guest sees `errno`."""

    def __init__(self, errno: Errno, detail: str = "") -> None:
        super().__init__(f"{errno.name}{': ' + detail if detail else ''}")
        self.errno = errno


def _build_host_table() -> dict[int, Errno]:
    table: dict[int, Errno] = {}
    for member in Errno:
        if member is Errno.SUCCESS:
            continue
        host_name = "E2BIG" if member is Errno.TOOBIG else "E" + member.name
        value = getattr(_host_errno, host_name, None)
        if value is not None:
            table.setdefault(value, member)
    # Aliases that share a number with another name on some hosts.
    for alias, member in (
        ("EWOULDBLOCK", Errno.AGAIN),
        ("EOPNOTSUPP", Errno.NOTSUP),
        ("EDEADLOCK", Errno.DEADLK),
    ):
        value = getattr(_host_errno, alias, None)
        if value is not None:
            table.setdefault(value, member)
    return table


_HOST_TO_WASI = _build_host_table()


def errno_from_oserror(exc: OSError) -> Errno:
    """The WASI errno for a host error; EIO when the host error has no WASI twin."""
    if exc.errno is None:
        return Errno.IO
    return _HOST_TO_WASI.get(exc.errno, Errno.IO)
