"""FaultPlan: deterministic short I/O, EINTR/EAGAIN and ENOSPC."""

from __future__ import annotations

from pathlib import Path

from pytest_wasmconc.wasi import Errno, FaultPlan, Preopen, WasiConfig, WasiPreview1

from .fakes import HostDriver
from .guest import Guest


def _g(root: Path | None = None, **kw: object) -> tuple[WasiPreview1, Guest]:
    pre = [Preopen(root, ".")] if root is not None else []
    w = WasiPreview1(WasiConfig(preopens=pre, **kw))  # type: ignore[arg-type]
    return w, Guest(HostDriver(w))


def test_short_reads_and_writes_on_files(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"0123456789")
    w, g = _g(tmp_path, faults=FaultPlan(max_read=3, max_write=2))
    _, fd = g.path_open("f")
    assert g.read(fd, 100) == (0, b"012")
    assert g.read(fd, 2) == (0, b"34")
    assert g.write(fd, b"abcdef") == (0, 2)
    assert (tmp_path / "f").read_bytes() == b"01234ab789"
    assert g.pread(fd, 100, 0) == (0, b"012")
    assert g.pwrite(fd, b"XYZ", 0) == (0, 2)
    assert [x[2] for x in w.injected_faults][:2] == ["short 3/100", "short 2/6"]


def test_short_writes_to_stdout_and_stdin_reads() -> None:
    w, g = _g(stdin=b"abcdef", faults=FaultPlan(max_read=4, max_write=1))
    assert g.write(1, b"hello") == (0, 1)
    assert g.read(0, 10) == (0, b"abcd")
    assert w.stdout == b"h"


def test_eintr_on_the_nth_call(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"data")
    w, g = _g(tmp_path, faults=FaultPlan(eintr_calls=frozenset({2}), eagain_calls=frozenset({3})))
    _, fd = g.path_open("f")
    assert g.read(fd, 1) == (0, b"d")
    assert g.read(fd, 1) == (Errno.INTR, b"")
    assert g.read(fd, 1) == (Errno.AGAIN, b"")
    assert g.read(fd, 1) == (0, b"a")  # nothing consumed by the failed calls
    assert g.write(1, b"x") == (0, 1)  # writes count separately
    assert g.write(1, b"x") == (Errno.INTR, -1)


def test_probabilistic_faults_replay_with_the_seed() -> None:
    def outcomes(seed: int) -> list[int]:
        _, g = _g(faults=FaultPlan(seed=seed, eintr_probability=0.3, eagain_probability=0.2))
        return [g.write(1, b"x")[0] for _ in range(60)]

    a, b, c = outcomes(5), outcomes(5), outcomes(6)
    assert a == b
    assert a != c
    assert {Errno.INTR, Errno.AGAIN, 0} == set(a)


def test_random_short_lengths_replay(tmp_path: Path) -> None:
    def lengths(seed: int) -> list[int]:
        _, g = _g(faults=FaultPlan(seed=seed, max_write=8, random_short=True))
        return [g.write(1, b"y" * 20)[1] for _ in range(30)]

    assert lengths(1) == lengths(1)
    assert all(1 <= n <= 8 for n in lengths(1))
    assert len(set(lengths(1))) > 1


def test_enospc_after_a_budget(tmp_path: Path) -> None:
    w, g = _g(tmp_path, faults=FaultPlan(enospc_after=10, targets=frozenset({"file"})))
    _, fd = g.path_open("out", oflags=1)
    assert g.write(fd, b"123456") == (0, 6)
    assert g.write(fd, b"789abc") == (0, 4)  # cut at the budget
    assert g.write(fd, b"z") == (Errno.NOSPC, -1)
    assert g.write(1, b"stdout is not targeted") == (0, 22)
    assert (tmp_path / "out").read_bytes() == b"123456789a"


def test_targets_limit_what_is_faulted(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    w, g = _g(
        tmp_path,
        stdin=b"in",
        faults=FaultPlan(eintr_calls=frozenset({1, 2}), targets=frozenset({"stdin"})),
    )
    _, fd = g.path_open("f")
    assert g.read(fd, 3) == (0, b"abc")  # a file read: not counted
    assert g.read(0, 3)[0] == Errno.INTR  # stdin call 1
    assert g.read(0, 3)[0] == Errno.INTR  # stdin call 2
    assert g.read(0, 3) == (0, b"in")
