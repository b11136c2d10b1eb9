"""What one execution of a guest ended with, and the report that explains it."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .timeline.model import Timeline

__all__ = ["Outcome", "Status", "ThreadReport"]


class Status(str, enum.Enum):
    EXITED = "exited"  # the guest exited (any exit code)
    TRAPPED = "trapped"  # a guest thread trapped (or a host function failed)
    DEADLOCK = "deadlock"  # every live thread was parked with nothing to wake it
    HANG = "hang"  # step budget or wall-clock backstop exceeded


# Outcome.hang_limit -> the words a label uses for it.
_HANG_LIMITS = {"max-steps": "step budget", "timeout": "wall-clock backstop"}


@dataclass
class ThreadReport:
    """One guest thread's state at the end of an execution.

    `waiting_on` is set only for a parked thread; `woken_from`, the wait a
    runnable (or running) thread had been woken from but not yet returned
    from when the execution ended. Each frame reads `func (@0xOFFSET) file.c:LINE`,
    the offset that of the file the user built (Program.locator).
    """

    tid: int
    state: str  # "running", "runnable", "parked", "finished", "trapped"
    waiting_on: str | None = None
    frames: list[str] = field(default_factory=list)
    trap: str | None = None
    woken_from: str | None = None

    @property
    def label(self) -> str:
        return "thread 0 (main)" if self.tid == 0 else f"thread {self.tid}"

    def render(self) -> str:
        head = f"  {self.label}: {self.state}"
        if self.waiting_on:
            head += f" in {self.waiting_on}"
        elif self.woken_from:
            head += f" (woken from {self.woken_from})"
        if self.trap:
            head += f": {self.trap}"
        lines = [head]
        if self.frames:
            lines += [f"      at {fr}" for fr in self.frames]
        else:
            lines.append("      (no wasm frames)")
        return "\n".join(lines)


@dataclass
class Outcome:
    """The result of running a guest once."""

    status: Status
    exit_code: int | None
    stdout_bytes: bytes = b""
    stderr_bytes: bytes = b""
    report: str = ""
    threads: list[ThreadReport] = field(default_factory=list)
    steps: int = 0
    decisions: tuple[int, ...] = ()
    slices: tuple[int, ...] = ()
    trap_thread: int | None = None
    trap_message: str | None = None
    host_exception: BaseException | None = None
    elapsed: float = 0.0
    preempt: str = "fuel"
    seed: int | None = None
    trace: list[Any] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # A hang: the limit that ended it, "timeout" (the wall-clock backstop) or "max-steps".
    hang_limit: str | None = None
    # The execution's timeline (runtime/timeline/), when one was recorded: Runner.execute(timeline=True)
    # or Runner.retrace(...).
    timeline: Timeline | None = field(default=None, repr=False, compare=False)
    # The replay token is encoded on first use: exploration makes thousands of
    # outcomes and reads the token of a few.
    _token: str | None = field(default=None, repr=False, compare=False)
    _token_factory: Callable[[], str] | None = field(default=None, repr=False, compare=False)

    @property
    def token(self) -> str | None:
        """The token that replays this execution (fuel mode), else None."""
        if self._token is None and self._token_factory is not None:
            self._token, self._token_factory = self._token_factory(), None
        return self._token

    @token.setter
    def token(self, value: str | None) -> None:
        self._token, self._token_factory = value, None

    def set_token_factory(self, factory: Callable[[], str]) -> None:
        self._token, self._token_factory = None, factory

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode("utf-8", "replace")

    def failed(self, expect_exit: int | None = 0) -> bool:
        """True for a trap, a deadlock, a hang, or an exit code other than `expect_exit`."""
        if self.status is not Status.EXITED:
            return True
        return expect_exit is not None and self.exit_code != expect_exit

    def summary(self) -> str:
        """A short label of how the execution ended, the class statistics count it in.

        No paths and no advice: "exited with code 1", "trapped in thread 1: <the
        trap's first line>", "deadlock", "hang (step budget)". The whole story is
        in `report`.
        """
        if self.status is Status.EXITED:
            return f"exited with code {self.exit_code}"
        if self.status is Status.TRAPPED:
            where = f" in thread {self.trap_thread}" if self.trap_thread is not None else ""
            message = (self.trap_message or "").strip().splitlines()
            return f"trapped{where}: {message[0]}" if message else f"trapped{where}"
        if self.status is Status.HANG and self.hang_limit in _HANG_LIMITS:
            return f"hang ({_HANG_LIMITS[self.hang_limit]})"
        return self.status.value

    def __repr__(self) -> str:
        return f"<Outcome {self.status.value} exit_code={self.exit_code} steps={self.steps}>"
