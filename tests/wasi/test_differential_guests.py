"""Every single-threaded guest in guests/ behaves identically under --wasi sandbox and --wasi native.

A guest is single-threaded when it does not import `wasi.thread-spawn`. Each runs
twice on identical fresh directories, once on the project's WASI and once on
wasmtime's own; stdout, stderr, how it ended (exit code, or trap and message)
and the directory left behind must be the same. Guests that read clocks or
random bytes are compared by structure (numbers and hex strings masked), not
by value.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_wasmconc.instrument.module import parse_module
from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings, Status

from .test_differential_fs import DELIBERATE, escape_tree, fs_tree
from .tree import snapshot

GUESTS = Path(__file__).resolve().parents[2] / "guests"
WASI = "wasi_snapshot_preview1"
NONDETERMINISTIC_CALLS = {"clock_time_get", "clock_res_get", "random_get", "poll_oneoff"}


def data_tree(base: Path) -> tuple[Path, Path]:
    """The default world: a copy of guests/data preopened at ".", and an outside dir."""
    root, outside = base / "root", base / "outside"
    shutil.copytree(GUESTS / "data", root)
    outside.mkdir()
    return root, outside


@dataclass
class Setup:
    args: Callable[[Path], list[str]] = lambda outside: []
    tree: Callable[[Path], tuple[Path, Path]] = data_tree
    stdin: bytes | None = None


# Guests that need more than the default world. Any other single-threaded guest
# runs with no arguments, empty stdin and a copy of guests/data at ".".
SETUPS: dict[str, Setup] = {
    "wasi/fs_calls": Setup(tree=fs_tree),
    "wasi/escapes": Setup(tree=escape_tree, args=lambda outside: [str(outside)]),
    "wasi/sleep10": Setup(args=lambda outside: ["30"]),  # wasmtime's WASI really sleeps
}


@dataclass
class Guest:
    key: str  # "kind/name"
    path: Path
    imports: set[tuple[str, str]] = field(default_factory=set)
    error: str | None = None  # the module could not be parsed

    @property
    def threaded(self) -> bool:
        return ("wasi", "thread-spawn") in self.imports

    @property
    def non_wasi_modules(self) -> set[str]:
        return {m for m, _ in self.imports if m != WASI}

    @property
    def nondeterministic(self) -> bool:
        return any(m == WASI and n in NONDETERMINISTIC_CALLS for m, n in self.imports)


def discover() -> list[Guest]:
    found = []
    for path in sorted(GUESTS.glob("*/*.wasm")):
        data = path.read_bytes()
        if data[4:8] != b"\x01\x00\x00\x00":
            continue  # a component (WASI 0.2), not a preview1 module
        key = f"{path.parent.name}/{path.stem}"
        try:
            imports = {(i.module, i.name) for i in parse_module(data).imports}
        except Exception as exc:  # noqa: BLE001 - reported by the test of this guest, not at collection
            found.append(Guest(key, path, error=f"{type(exc).__name__}: {exc}"))
            continue
        found.append(Guest(key, path, imports))
    return found


ALL = discover()
SINGLE = [g for g in ALL if not g.threaded]


def mask(text: str) -> str:
    """Every number, decimal or hex, of any length, becomes <n>."""
    return re.sub(r"\b(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]+\b", "<n>", text)


def test_masking_keeps_the_structure_and_drops_the_values() -> None:
    assert mask("realtime[0]=1704067200.000001000\nmonotonic[1]=4000\n") == \
        mask("realtime[0]=1795286920.323487349\nmonotonic[1]=123456789012\n") == \
        "realtime[<n>]=<n>.<n>\nmonotonic[<n>]=<n>\n"
    assert mask("random[0]=f5b165224a58b791df6af1d8303e61cd errno=44 ok") == "random[<n>]=<n> errno=<n> ok"


def test_discovery_finds_the_known_single_threaded_guests() -> None:
    keys = {g.key for g in SINGLE}
    assert {"wat/single_hello", "wasi/fs_calls", "wasi/escapes", "wasi/clock_random", "wasi/sleep10",
            "wasi/retry_writes", "wasi/trap_after_io"} <= keys
    assert "wasi/shared_fd" not in keys and "c/mutex_counter" not in keys  # threaded ones are not
    assert set(SETUPS) <= keys


# Guests whose behaviour can depend on the WASI implementation: they import WASI and
# nothing else a WASI host does not provide (the stream guests import only wasmconc_streams).
COMPARABLE = [g for g in SINGLE if g.error is not None
              or (any(m == WASI for m, _ in g.imports) and not g.non_wasi_modules)]


@pytest.mark.parametrize("guest", COMPARABLE, ids=[g.key for g in COMPARABLE])
def test_single_threaded_guest_is_identical_under_sandbox_and_native_wasi(tmp_path: Path, guest: Guest) -> None:
    assert guest.error is None, f"{guest.path} does not parse: {guest.error}"
    runner = Runner(RunSettings())
    program = runner.load(guest.path)
    # wasmtime's own view of the module agrees that it is single-threaded
    assert not any((i.module, i.name) == ("wasi", "thread-spawn") for i in program.module.imports)
    setup = SETUPS.get(guest.key, Setup())
    results = {}
    for impl in ("sandbox", "native"):
        root, outside = setup.tree(tmp_path / impl)
        before = snapshot(outside)
        o = runner.run(guest.path, GuestIO(args=setup.args(outside), dirs=[(str(root), ".")], stdin=setup.stdin,
                                           wasi=impl))
        assert o.status in (Status.EXITED, Status.TRAPPED), f"{impl}: {o.report}"
        assert snapshot(outside) == before, f"{impl} changed the outside directory"
        out, err = (mask(o.stdout), mask(o.stderr)) if guest.nondeterministic else (o.stdout, o.stderr)
        if impl == "native":  # what our host deliberately does otherwise (test_differential_fs)
            for theirs, ours in DELIBERATE.items():
                out = out.replace(f"{theirs}\n", f"{ours}\n")
        results[impl] = (out, err, o.status, o.exit_code, o.trap_message, snapshot(root))
    sandbox, native = results["sandbox"], results["native"]
    assert sandbox[0].splitlines() == native[0].splitlines()
    assert sandbox == native
