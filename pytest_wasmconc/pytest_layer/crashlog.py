"""The crash log: what each test process is running, in a file that outlives the process.

A worker killed by SIGKILL or the OOM killer, or dying in native code, takes
its test report with it. So every test process (each xdist worker, or the
one pytest process) keeps `crash-<worker>.txt` in the crash-log directory
(default `.pytest_cache/d/wasmconc/`, option `--wasm-crash-log`): rewritten
in place when a guest execution starts (test, guest, schedule, the replay
command of that very schedule) and when it ends, marked done when the test
finishes normally. Failure reports are appended to `failures-<worker>.txt`.
The xdist controller puts the dead worker's entry into the report of the
crashed item; the next session moves the files to `previous/` and names in
its header a test that was cut short.

Runtime code stays untouched: `crashrunner.LoggingRunner` (a `Runner` for one
test item; a module of its own, so that this one, set up in every session,
needs no runtime) notes each execution around `Runner.execute`, where the final settings of the
schedule are known, and in fuel mode they are the replay token already (a
seeded policy replays from its seed; the decision list is only kept for the
"replay" policy, whose settings carry it).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from .reporting import SECTION_TITLE

__all__ = [
    "CRASH_LOG_KEY",
    "CrashLog",
    "LogEntry",
    "configure",
    "read_entry",
]


CrashLogSetting = Path | Literal[False] | None  # a directory, off, or the default (under the pytest cache)

_WORKER_INPUT = "wasm_crash_log"  # the controller's resolved directory, for every worker alike
_CACHE_SUBDIR = "wasmconc"  # config.cache.mkdir(): .pytest_cache/d/wasmconc
_END = "# end"  # a rewrite is pwrite + ftruncate: a reader stops here, so a longer old tail never shows
_SYNC_INTERVAL_S = 0.1  # fsync at most this often (a process death needs none: the page cache survives it)
_MAX_FAILURE_CHARS = 64 * 1024

IN_FLIGHT = "in-flight"  # a guest execution is running
BETWEEN = "between"  # the test is running; its last guest execution has ended
DONE = "done"  # the test finished normally
FINISHED = "finished"  # the session ended
_STATE_TEXT = {
    IN_FLIGHT: "a guest execution was in flight",
    BETWEEN: "the test was running; no guest execution was in flight (the last one had ended)",
}


def crash_file(directory: Path, worker: str) -> Path:
    return directory / f"crash-{worker}.txt"


def failures_file(directory: Path, worker: str) -> Path:
    return directory / f"failures-{worker}.txt"


# -- the file ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    """A crash file read back: its `key: value` lines (state, test, guest, execution, replay, ...)."""

    path: Path
    fields: dict[str, str]
    text: str

    @property
    def state(self) -> str:
        return self.fields.get("state", "")

    @property
    def test(self) -> str:
        return self.fields.get("test", "")

    @property
    def cut_short(self) -> bool:
        """The process ended while this test was running (killed, crashed, hard exit)."""
        return self.state in (IN_FLIGHT, BETWEEN)


def read_entry(path: Path) -> LogEntry | None:
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lines = raw.split("\n")
    if _END in lines:
        lines = lines[:lines.index(_END)]
    fields: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        if sep and not key.startswith("#") and key not in fields:
            fields[key] = value
    return LogEntry(path, fields, "\n".join(ln for ln in lines if not ln.startswith("#")))


class CrashLog:
    """One test process's crash file (rewritten in place) and failures file (appended)."""

    def __init__(self, directory: Path, worker: str) -> None:
        self.directory = directory
        self.worker = worker
        self.path = crash_file(directory, worker)
        self.failures_path = failures_file(directory, worker)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._synced = 0.0
        self._test: str | None = None  # the test whose executions the file describes
        self._executions = 0
        self._lines: list[str] = []  # the last execution's description

    def execution_started(self, nodeid: str, lines: list[str]) -> None:
        with self._lock:
            if nodeid != self._test:
                self._test, self._executions = nodeid, 0
            self._executions += 1
            self._lines = [*lines, f"started: {_now()} (guest execution {self._executions} of this test)"]
            self._write(IN_FLIGHT)

    def execution_ended(self, nodeid: str, how: str) -> None:
        with self._lock:
            if nodeid == self._test:
                self._lines = [*(ln for ln in self._lines if not ln.startswith("ended: ")), f"ended: {how}"]
                self._write(BETWEEN)

    def test_finished(self, nodeid: str) -> None:
        with self._lock:
            if nodeid == self._test:
                self._write(DONE)
                self._test = None

    def session_finished(self) -> None:
        with self._lock:
            if self._fd is not None and self._test is None:  # a test cut short (Ctrl-C) keeps its entry
                self._lines = []
                self._write(FINISHED)
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def failure(self, report: pytest.TestReport) -> None:
        """Append a failure report (its text, and the guest report section) to the failures file."""
        parts = [f"==== {report.outcome.upper()} {report.nodeid} ({report.when}) at {_now()} ===="]
        if report.longrepr is not None:
            parts.append(report.longreprtext)
        parts += [f"---- {title} ----\n{content}" for title, content in report.sections if title == SECTION_TITLE]
        text = "\n".join(parts)
        if len(text) > _MAX_FAILURE_CHARS:
            text = text[:_MAX_FAILURE_CHARS] + "\n[... cut]"
        with self._lock:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.failures_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                try:
                    os.write(fd, (text + "\n\n").encode("utf-8", "replace"))
                    os.fsync(fd)  # rare, and the reason the file exists
                finally:
                    os.close(fd)
            except OSError:
                pass  # the log helps; it never fails a test

    def _write(self, state: str) -> None:
        head = [
            f"# pytest-wasmconc crash log of one test process: {self.worker}",
            f"worker: {self.worker}",
            f"pid: {os.getpid()}",
            f"state: {state}",
        ]
        if self._test is not None:
            head.append(f"test: {self._test}")
        data = "\n".join([*head, *self._lines, _END, ""]).encode("utf-8", "replace")
        try:
            if self._fd is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            # One pwrite of a few hundred bytes: cheap enough for every execution, and complete in the
            # page cache the moment it returns, whatever happens to the process afterwards.
            os.pwrite(self._fd, data, 0)
            os.ftruncate(self._fd, len(data))
            now = time.monotonic()
            if now - self._synced >= _SYNC_INTERVAL_S or state in (DONE, FINISHED):
                os.fsync(self._fd)  # against a machine crash, at a bounded cost
                self._synced = now
        except OSError:
            pass


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


# -- pytest wiring ------------------------------------------------------------------------------

CRASH_LOG_KEY = pytest.StashKey["CrashLog | None"]()


def _directory(config: pytest.Config, setting: CrashLogSetting) -> Path | None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and _WORKER_INPUT in workerinput:
        given = workerinput[_WORKER_INPUT]
        return Path(given) if given else None
    if setting is False:
        return None
    if setting is not None:
        return config.invocation_params.dir / setting  # relative to where pytest was started
    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider
    return Path(cache.mkdir(_CACHE_SUBDIR)) if cache is not None else None


def _distributing(config: pytest.Config) -> bool:
    """This process is an xdist controller: its workers run the tests."""
    return getattr(config, "workerinput", None) is None and getattr(config.option, "dist", "no") != "no"


def _rotate(directory: Path) -> list[LogEntry]:
    """Move the last session's files to previous/; return its entries of tests cut short."""
    previous = directory / "previous"
    try:
        old = sorted([*directory.glob("crash-*.txt"), *directory.glob("failures-*.txt")])
        if not old:
            return []
        previous.mkdir(parents=True, exist_ok=True)
        for stale in [*previous.glob("crash-*.txt"), *previous.glob("failures-*.txt")]:
            stale.unlink(missing_ok=True)
        for path in old:
            path.replace(previous / path.name)
    except OSError:
        return []
    entries = [read_entry(p) for p in sorted(previous.glob("crash-*.txt"))]
    return [e for e in entries if e is not None and e.cut_short]


class _Writer:
    """Hooks of a process that runs tests."""

    def __init__(self, log: CrashLog) -> None:
        self.log = log

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.log.failure(report)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.log.test_finished(nodeid)

    def pytest_sessionfinish(self) -> None:
        self.log.session_finished()


class _Header:
    """The start of a session: where the log goes, and the previous session's tests cut short."""

    def __init__(self, directory: Path, cut_short: list[LogEntry]) -> None:
        self.directory = directory
        self.cut_short = cut_short

    def pytest_report_header(self) -> list[str]:
        lines = []
        for entry in self.cut_short:
            replay = entry.fields.get("replay", "")
            lines.append(f"wasmconc: the previous session's process {entry.fields.get('worker', '?')} ended during "
                         f"{entry.test} ({_STATE_TEXT[entry.state]}); crash log {entry.path}"
                         + (f"; replay: {replay}" if replay.startswith("pytest ") else ""))
        return lines


class _Controller:
    """xdist controller hooks: one directory for every worker, crash logs into crashed items' reports."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[_WORKER_INPUT] = str(self.directory)

    @pytest.hookimpl(optionalhook=True, trylast=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        worker = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", None)
        entry = read_entry(crash_file(self.directory, worker)) if worker else None
        if entry is None or entry.test != crashitem or not entry.cut_short:
            return
        note = crash_note(entry)
        if isinstance(report.longrepr, str):
            report.longrepr = f"{report.longrepr}\n\n{note}"
        else:
            report.sections.append(("wasm crash log", note))


def crash_note(entry: LogEntry) -> str:
    """What the crashed item's report says: the dead process's entry for it."""
    keep = [ln for ln in entry.text.splitlines() if not ln.startswith(("state: ", "test: ", "worker: "))]
    first = f"pytest-wasmconc crash log ({entry.path}): {_STATE_TEXT[entry.state]} when the worker died"
    return "\n".join([first, *("  " + ln for ln in keep)])


# Options with which pytest only describes itself (and never runs a test): the crash
# log is then neither created nor rotated, so `pytest --help` writes nothing.
_DESCRIBING_OPTIONS = ("help", "markers", "showfixtures", "show_fixtures_per_test")


def _only_describing(config: pytest.Config) -> bool:
    return any(getattr(config.option, name, False) for name in _DESCRIBING_OPTIONS)


def configure(config: pytest.Config, setting: CrashLogSetting) -> None:
    """Set up the crash log of this process (see the module doc); a no-op when it is off."""
    config.stash[CRASH_LOG_KEY] = None
    if _only_describing(config):
        return
    directory = _directory(config, setting)
    if directory is None:
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        config.pluginmanager.register(_Header(directory, _rotate(directory)), "wasmconc-crashlog-header")
    if _distributing(config):
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(_Controller(directory), "wasmconc-crashlog-controller")
        return
    worker = str(workerinput.get("workerid", "main")) if workerinput is not None else "main"
    log = CrashLog(directory, worker)
    config.stash[CRASH_LOG_KEY] = log
    config.pluginmanager.register(_Writer(log), "wasmconc-crashlog")
