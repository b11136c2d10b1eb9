"""Failure memory: the schedules that failed a test, kept in pytest's cache and replayed first next time.

As Hypothesis replays its example database before generating: when a wasm test
fails, the replay token of the execution that failed it is stored under the
test's node id (`.pytest_cache/v/wasmconc/failures`); the next run of that test
replays it first in the `run()`/`explore()` call whose guest and arguments it
fits, so `pytest --lf` (or any re-run) fails the same way without a token being
typed. A test that passes is forgotten; a stored token that fits nothing any more
(the guest changed: tokens are bound to its sha256; another wasmtime) is dropped
with a note, never an error. `--wasm-failure-memory=off` neither replays nor
stores, `clear` forgets everything first.

Like pytest's own `--lf` plugin, only the main process writes (the xdist
controller, which sees every worker's reports, at the end of the session); the
workers read the file once, at their first wasm test. The seed of the last
session that ran wasm tests is kept beside it for `--wasm-seed=last`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .records import failing_record, records_of

if TYPE_CHECKING:
    from ..runtime.token import GuestIdentity, ReplayToken

__all__ = [
    "FAILURES_KEY", "MEMORY_DATA", "MODES", "SEED_KEY", "MemoryWriter", "Remembered", "for_item", "last_seed",
    "report_data",
]

FAILURES_KEY = "wasmconc/failures"  # {nodeid: [token, ...]}
SEED_KEY = "wasmconc/seed"  # the last session's seed
MODES = ("on", "off", "clear")
MEMORY_DATA = "wasmconc_memory"  # the call report's attribute the main process reads (xdist serialises it)
_NOTE = "failure memory"

_STORED = pytest.StashKey[dict[str, list[str]]]()
_ITEM = pytest.StashKey["Remembered"]()


def _valid(data: Any) -> dict[str, list[str]]:
    """The stored failures, without what a hand edit or another version left that is not {nodeid: [str]}."""
    if not isinstance(data, dict):
        return {}
    return {k: [t for t in v if isinstance(t, str)] for k, v in data.items() if isinstance(k, str)
            and isinstance(v, list)}


def _cache(config: pytest.Config) -> Any:
    return getattr(config, "cache", None)  # None under -p no:cacheprovider: no memory at all


def last_seed(config: pytest.Config) -> int | None:
    """The seed of the last session that ran wasm tests (None: none stored, or no cache)."""
    cache = _cache(config)
    value = cache.get(SEED_KEY, None) if cache is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class Remembered:
    """The stored schedules of one test, each replayed by the first call whose guest and arguments it fits."""

    def __init__(self, tokens: list[str]) -> None:
        self.pending = list(tokens)
        self.notes: list[str] = []

    def take(self, here: GuestIdentity) -> ReplayToken | None:
        """The first stored token made for this guest with these arguments (dropping any that cannot replay)."""
        from ..runtime.errors import ReplayError
        from ..runtime.token import decode_token

        for text in list(self.pending):
            try:
                token = decode_token(text)
                token.check_compatible()
            except ReplayError as exc:
                self.pending.remove(text)
                self.notes.append(f"a stored schedule cannot be replayed and was dropped: {exc}")
                continue
            made = token.guest
            if made is not None and (made.digest, made.args) == (here.digest, here.args):
                self.pending.remove(text)
                return token
        return None

    def leftover_notes(self) -> list[str]:
        """Notes for the stored schedules no execution of the test fitted (its guest or arguments changed)."""
        notes = list(self.notes)
        if self.pending:
            n = len(self.pending)
            notes.append(f"{n} stored schedule{'s' if n > 1 else ''} fit{'s' if n == 1 else ''} none of this "
                         "test's guest executions (the guest or its arguments changed since it failed) and "
                         f"{'were' if n > 1 else 'was'} dropped")
        return notes


def _mode(config: pytest.Config) -> str:
    from .state import state_of

    return str(state_of(config).options.failure_memory.value)


def _stored(config: pytest.Config) -> dict[str, list[str]]:
    """This process's copy of the stored failures, read once ({} when cleared or without the cache)."""
    stored = config.stash.get(_STORED, None)
    if stored is None:
        cache = _cache(config)
        stored = {} if cache is None or _mode(config) == "clear" else _valid(cache.get(FAILURES_KEY, {}))
        config.stash[_STORED] = stored
    return stored


def for_item(item: pytest.Item) -> Remembered | None:
    """The test's stored schedules (None: memory off, or a --wasm-replay token says what to run)."""
    from .state import state_of

    options = state_of(item.config).options
    if options.failure_memory.value == "off" or options.replay.value is not None:
        return None
    remembered = item.stash.get(_ITEM, None)
    if remembered is None:
        remembered = Remembered(_stored(item.config).get(item.nodeid, []))
        item.stash[_ITEM] = remembered
    return remembered


def report_data(item: pytest.Item, report: pytest.TestReport) -> dict[str, Any] | None:
    """What the main process needs of a call report: the tokens that failed the test, the notes."""
    remembered = item.stash.get(_ITEM, None)
    records = records_of(item)
    if remembered is None and not records:
        return None
    tokens: list[str] = []
    if report.failed:
        record = failing_record(item)
        if record is not None and record.outcome.token:
            tokens.append(record.outcome.token)
    return {"tokens": tokens, "notes": remembered.leftover_notes() if remembered is not None else []}


class MemoryWriter:
    """The main process's side: updates the stored failures from every call report, writes them at the end."""

    def __init__(self, config: pytest.Config, mode: str, seed: int) -> None:
        self.config = config
        self.cache = _cache(config)
        self.seed = seed
        self.mode = mode
        self.saved = {} if self.cache is None else _valid(self.cache.get(FAILURES_KEY, {}))
        self.failures = {} if mode == "clear" else dict(self.saved)
        self.ran_wasm = False
        self.notes: list[tuple[str, str]] = []

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        data = getattr(report, MEMORY_DATA, None)
        if isinstance(data, dict):
            self.ran_wasm = True
            self.notes += [(report.nodeid, note) for note in data.get("notes", ())]
        if report.passed:
            self.failures.pop(report.nodeid, None)
        elif report.failed and isinstance(data, dict):
            tokens = [t for t in data.get("tokens", ()) if isinstance(t, str)]
            if tokens:
                self.failures[report.nodeid] = tokens
            else:
                self.failures.pop(report.nodeid, None)  # failed otherwise: nothing of its schedules to replay

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for nodeid, note in self.notes:
            terminalreporter.write_line(f"wasmconc {_NOTE}: {nodeid}: {note}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.cache is None or self.mode == "off" or self.config.getoption("collectonly", False):
            return
        if self.failures != self.saved:
            self.cache.set(FAILURES_KEY, self.failures)
        if self.ran_wasm and last_seed(self.config) != self.seed:
            self.cache.set(SEED_KEY, self.seed)
