"""User imports in tests: the `wasm_imports` fixture's and `imports=`'s, and host exceptions.

Imports from the `wasm_imports` fixture (override it to give every test of a
directory the same host functions) are lenient: a guest that does not import
one of them simply does not get it. Imports passed to `wasm_scheduler.run`/
`explore(imports=...)` are strict (a name the guest does not import is a typo)
and win over the fixture's.

A Python exception raised by a host function fails the test as that very
exception, with a note naming the guest thread, its wasm backtrace and how
to replay the schedule.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..runtime import WasmconcError
from ..runtime.userhost.api import UserImports
from .errors import GuestLoadError
from .records import GuestRecord
from .reporting import replay_command

__all__ = ["combine", "raise_host_exception"]


def combine(fixture_imports: Any, call_imports: Any) -> UserImports | None:
    """The imports of one run/explore call: the fixture's (lenient) with the call's (strict) on top."""
    __tracebackhide__ = True
    try:
        base = UserImports.of(fixture_imports) if fixture_imports else None
        if base is not None and base.strict:
            base = UserImports(base.imports, False, base.blocking_timeout, base.extra)
        top = UserImports.of(call_imports) if call_imports is not None else None
    except WasmconcError as exc:
        raise GuestLoadError(str(exc)) from None
    if base is None:
        return top
    if top is not None and not isinstance(call_imports, UserImports):
        top = UserImports(top.imports, top.strict, base.blocking_timeout, top.extra)  # the fixture's timeout
    return base.merged(top)


def raise_host_exception(item: pytest.Item, record: GuestRecord) -> None:
    """If a host function raised, re-raise that exception here with the guest's side as a note."""
    __tracebackhide__ = True
    o = record.outcome
    exc = o.host_exception
    if exc is None:
        return
    tid = o.trap_thread
    thread = next((t for t in o.threads if t.tid == tid), None)
    label = thread.label if thread is not None else f"thread {tid}"
    s = record.settings
    mode = f"{s.preempt.value} mode" + (f", policy {s.policy}, seed {s.seed}" if s.preempt.value != "os" else "")
    where = f", schedule {record.schedule_index}" if record.schedule_index is not None else ""
    lines = [f"raised in a host function called by guest {label} of {record.guest} ({mode}{where}):"]
    if thread is not None and thread.frames:
        lines += [f"  at {fr}" for fr in thread.frames]
    else:
        lines.append("  (no wasm frames)")
    if o.token:
        lines.append(f"replay: {replay_command(item, o.token)}")
    note = "\n".join(lines)
    if note not in getattr(exc, "__notes__", ()):
        exc.add_note(note)
    raise exc
