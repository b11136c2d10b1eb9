"""The stream history's vocabulary: one `Event` per operation a guest makes on an output stream.

The observed streams (model.py) record events; whatever judges them (the
protocol checker and expected sequences in checks/streams/) reads them. The
event kinds and the size limit of blocking-write-and-flush are facts of
wasi:io/streams, so they live with the host, not with a check.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BLOCKING_WRITE_LIMIT", "EVENT_KINDS", "SEQUENCE_KINDS", "Event"]

# blocking-write-and-flush takes at most this many bytes (wasi:io/streams).
BLOCKING_WRITE_LIMIT = 4096

# The operations a guest makes, in the order wasi:io/streams and wasi:io/poll list them;
# `expect` sequences are matched against these.
SEQUENCE_KINDS = (
    "check-write", "write", "flush", "blocking-flush", "blocking-write-and-flush", "subscribe", "poll", "ready",
)
# Every event kind the history records ("open", "drop" and "exit" are bookkeeping).
EVENT_KINDS = SEQUENCE_KINDS + ("open", "drop", "exit")


@dataclass(frozen=True)
class Event:
    """One operation a guest made on an output stream.

    `arg`: the byte count of write / blocking-write-and-flush, the pollable of
    subscribe and ready; `pollables`: what a poll waits on; `result`: the permit
    of check-write, or "closed" / "last-operation-failed" when the operation
    returned an error; `detail`: what the host adds (e.g. a flush in flight at exit).
    """

    index: int
    stream: str
    kind: str
    arg: int | None = None
    result: int | str | None = None
    thread: int = 0
    pollables: tuple[int, ...] = ()
    detail: str = ""

    @property
    def error(self) -> bool:
        return isinstance(self.result, str)

    def token(self) -> str:
        """The event as `expect` patterns see it: `check-write(64)`, `write(12)`, `flush`, ..."""
        if self.kind == "check-write":
            return f"check-write({self.result})" if self.result is not None else "check-write"
        if self.kind in ("write", "blocking-write-and-flush") and self.arg is not None:
            return f"{self.kind}({self.arg})"
        return self.kind

    def render(self) -> str:
        text = f"#{self.index} t{self.thread} {self.kind}"
        if self.kind in ("write", "blocking-write-and-flush") and self.arg is not None:
            text += f"({self.arg})"
        elif self.kind in ("subscribe", "ready", "drop") and self.arg is not None:
            text += f" pollable {self.arg}"
        elif self.kind == "poll":
            text += f" [{', '.join(f'pollable {p}' for p in self.pollables)}]"
        if self.result is not None:
            text += f" -> {self.result}"
        if self.detail:
            text += f"  ({self.detail})"
        return text
