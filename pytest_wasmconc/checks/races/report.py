"""What a user reads: a data race with both accesses, their threads and backtraces (ThreadSanitizer's shape)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .access_pass import AccessSite
from .detector import Access

if TYPE_CHECKING:
    from ...instrument.locator import Locator

__all__ = ["TITLE", "RaceReport", "no_names_message"]

TITLE = "WARNING: data race"


@dataclass
class RaceReport:
    """One race, by pair of sites: the two accesses, where they are, and how the execution ran.

    `frames` holds each access's backtrace once taken (fuel mode), else a note why not;
    `locator` prints the sites (the program's, instrument/locator.py: the file's offsets and lines).
    """

    previous: Access
    current: Access
    previous_site: AccessSite
    current_site: AccessSite
    guest: str
    execution: int
    how: str  # "fuel mode, seed 5", "os mode"
    frames: dict[str, list[str] | str] = field(default_factory=dict)
    locator: Locator | None = None

    @property
    def functions(self) -> tuple[str, str]:
        return (_func(self.current_site), _func(self.previous_site))

    def render(self) -> list[str]:
        a, b = self.functions
        pair = f"{a}" if a == b else f"{a} and {b}"
        lines = [f"{TITLE} between {pair} in {self.guest} (execution {self.execution}, {self.how})"]
        lines += _access_lines(self.current, self.current_site, "", self.frames.get("current"), self.locator)
        lines += _access_lines(self.previous, self.previous_site, "Previous ", self.frames.get("previous"),
                               self.locator)
        return lines


def _func(site: AccessSite) -> str:
    return site.func or f"<func {site.func_index}>"


def _thread(tid: int) -> str:
    return "thread 0 (main)" if tid == 0 else f"thread {tid}"


def _site_text(site: AccessSite, locator: Locator | None) -> str:
    """`func (@0x1f3) file.c:12`: the accessing instruction, at its offset in the file the user built."""
    if locator is not None:
        return locator.site(site.func, site.func_index, site.at)
    return f"{site.where} {site.source}" if site.source else site.where


def _access_lines(access: Access, site: AccessSite, prefix: str, frames: list[str] | str | None,
                  locator: Locator | None) -> list[str]:
    kind = access.kind if prefix else access.kind.capitalize()
    what = f"of size {access.size}" if site.size else f"of {access.size} bytes ({site.instr})"
    out = [f"  {prefix}{kind} {what} at {access.addr:#010x} by {_thread(access.tid)}:"]
    if isinstance(frames, list) and frames:
        lines = [f"      at {f}" for f in frames]
        if frames[0].split(" (@")[0] != _func(site):
            # The innermost frame is not the accessing function (a call from the host): name the access.
            lines.insert(0, f"      at {_site_text(site, locator)}  (the access)")
        out += lines
    else:
        out.append(f"      at {_site_text(site, locator)}  (the accessing function)")
        if isinstance(frames, str):
            out.append(f"      ({frames})")
    return out


def no_names_message(guest: str) -> str:
    """Why a guest without a name section is not checked, and how to keep its names."""
    return (f"race check: {guest} has no name section (function names), so libc's synchronization "
            "functions (pthread_mutex_lock, ...), whose plain accesses are their synchronization, cannot be "
            "told from the program's own code and every lock would look like a race. Rebuild the guest with "
            "its names (link without wasm-opt, or pass -g; `wasm-tools strip` keeps them)")
