"""Helpers of the plugin's own tests: guests for pytester sessions, output parsing."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
C_GUESTS = REPO / "guests" / "c"

# Small guests, one behaviour each, compiled into every pytester directory.
WAT_GUESTS = {
    # exits with 0 after printing a line
    "hello": """
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
""",
    # exit code 3
    "exit3": """
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 3))))
""",
    # traps (unreachable) in a named function
    "trap": """
(module
  (memory (export "memory") 1)
  (func $explode (unreachable))
  (func (export "_start") (call $explode)))
""",
    # the only thread parks forever: a deadlock
    "park": """
(module
  (import "env" "memory" (memory 1 1 shared))
  (func $wait_forever (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (func (export "_start") (call $wait_forever)))
""",
    # a worker spins forever while main waits for it: a hang
    "spin": """
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func $spin_forever (loop $l (br $l)))
  (func (export "wasi_thread_start") (param i32 i32) (call $spin_forever))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))
""",
    # copies stdin to stdout (up to 64 bytes)
    "echo": """
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 64))
    (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))))
""",
}

# A pytester conftest giving user-style tests their guests by name.
GUEST_CONFTEST = f"""
import pathlib
import pytest

C = pathlib.Path({str(C_GUESTS)!r})
HERE = pathlib.Path(__file__).parent

@pytest.fixture
def guest():
    def path(name):
        p = HERE / "guests" / f"{{name}}.wasm"
        return p if p.exists() else C / f"{{name}}.wasm"
    return path
"""

REPLAY_FLAG = re.compile(r"--wasm-replay=(wc1-[A-Za-z0-9_-]+)")


def replay_flag(text: str) -> str:
    """The --wasm-replay=TOKEN flag printed in a session's output."""
    m = REPLAY_FLAG.search(text)
    assert m, f"no --wasm-replay flag in the output:\n{text}"
    return m.group(0)


def crafted_token(token: str, **fields: object) -> str:
    """`token` with its JSON fields replaced: what a damaged or hand-edited token can hold."""
    import base64
    import json
    import zlib

    body = token[len("wc1-"):]
    doc = json.loads(zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    doc.update(fields)
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return "wc1-" + base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


def hello_token() -> str:
    """A real token: guests/wat/single_hello.wasm run once without arguments."""
    from pytest_wasmconc.runtime import Runner

    token = Runner().run(REPO / "guests" / "wat" / "single_hello.wasm").token
    assert token is not None
    return token
