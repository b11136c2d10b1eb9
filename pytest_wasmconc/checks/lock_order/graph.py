"""The lock-order graph: locks, edges A -> B ("B asked for while holding A") with witnesses, and its cycles.

Kept over every execution the check is attached to. An edge keeps one
witness per set of other locks held at the time (its gates); a cycle is
reported only if some choice of witnesses has no gate in common (a cycle
whose edges were all taken under one common other lock cannot deadlock).
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Cycle", "LockInfo", "LockKey", "LockOrderGraph", "Taken", "Witness"]

LockKey = tuple[Any, ...]  # ("guest", module digest, address) | ("host", id(lock))


@dataclass
class Taken:
    """One acquisition (or the request of one): who, where, and how to find it again."""

    execution: int  # the check's number of the execution (1, 2, ...)
    seq: int  # the event's number within that execution (for a replay that stops there)
    tid: int
    where: str  # one frame: "thread_ab (@0x386)", or a Python location for host locks
    via: str  # the lock function or host object method
    python: list[str] = field(default_factory=list)  # host locks: the Python stack, innermost first
    frames: list[str] | None = None  # the full wasm backtrace, once a replay found it
    note: str | None = None  # why there is no full backtrace


@dataclass
class Witness:
    """The first time an edge A -> B was taken with a given set of other held locks."""

    tid: int
    held: Taken  # where A was acquired
    taken: Taken  # where B was asked for, while A was held
    gates: frozenset[LockKey]  # the other locks held at that moment


@dataclass
class LockInfo:
    key: LockKey
    number: int  # in order of appearance
    description: str  # "guest lock @0x534 (pthread_mutex)", "host lock 'db'"
    guest: str | None = None  # the guest a guest lock lives in

    @property
    def name(self) -> str:
        return f"M{self.number}"


@dataclass
class Cycle:
    """A cycle of the lock-order graph, with one witness per edge (edge i: locks[i] -> locks[i+1])."""

    locks: list[LockKey]
    witnesses: list[Witness]

    @property
    def edges(self) -> list[tuple[LockKey, LockKey, Witness]]:
        n = len(self.locks)
        return [(self.locks[i], self.locks[(i + 1) % n], self.witnesses[i]) for i in range(n)]


class LockOrderGraph:
    """Locks and lock-order edges with their witnesses (not thread-safe: the check locks it)."""

    MAX_WITNESSES = 8  # distinct gate sets kept per edge
    MAX_COMBINATIONS = 4096  # witness choices tried per cycle when looking for an ungated one

    def __init__(self) -> None:
        self.locks: dict[LockKey, LockInfo] = {}
        self.edges: dict[tuple[LockKey, LockKey], list[Witness]] = {}
        self._succ: dict[LockKey, list[LockKey]] = {}
        self.version = 0

    def lock(self, key: LockKey, description: str, guest: str | None = None) -> LockInfo:
        info = self.locks.get(key)
        if info is None:
            info = self.locks[key] = LockInfo(key, len(self.locks) + 1, description, guest)
        return info

    def add_edge(self, a: LockKey, b: LockKey, witness: Witness) -> bool:
        """Record A -> B; True when it is new, or new under this set of other held locks."""
        ws = self.edges.get((a, b))
        if ws is None:
            self.edges[(a, b)] = [witness]
            self._succ.setdefault(a, []).append(b)
            self.version += 1
            return True
        if len(ws) >= self.MAX_WITNESSES or any(w.gates == witness.gates for w in ws):
            return False
        if any(not w.gates for w in ws):
            return False  # an ungated witness already exists: others add nothing
        ws.append(witness)
        self.version += 1
        return True

    def cycles(self, limit: int = 10) -> list[Cycle]:
        """Ungated cycles: for each edge, the shortest cycle through it (deduplicated)."""
        out: list[Cycle] = []
        seen: set[tuple[LockKey, ...]] = set()
        for (a, b) in list(self.edges):
            path = self._path(b, a)
            if path is None:
                continue
            nodes = [a] + path[:-1]
            canon = _canonical(nodes, self.locks)
            if canon in seen:
                continue
            seen.add(canon)
            witnesses = self._ungated(list(canon))
            if witnesses is not None:
                out.append(Cycle(list(canon), witnesses))
                if len(out) >= limit:
                    break
        return out

    def _path(self, src: LockKey, dst: LockKey) -> list[LockKey] | None:
        """Shortest path src -> ... -> dst (node list, both ends included)."""
        if src == dst:
            return [src]
        prev: dict[LockKey, LockKey] = {src: src}
        todo = deque([src])
        while todo:
            n = todo.popleft()
            for m in self._succ.get(n, ()):
                if m in prev:
                    continue
                prev[m] = n
                if m == dst:
                    path = [m]
                    while path[-1] != src:
                        path.append(prev[path[-1]])
                    return path[::-1]
                todo.append(m)
        return None

    def _ungated(self, nodes: list[LockKey]) -> list[Witness] | None:
        """One witness per edge whose gate sets have no lock in common; None if every choice is gated."""
        n = len(nodes)
        choices = [self.edges[(nodes[i], nodes[(i + 1) % n])] for i in range(n)]
        for combo in itertools.islice(itertools.product(*choices), self.MAX_COMBINATIONS):
            common = frozenset.intersection(*(w.gates for w in combo))
            if not common:
                return list(combo)
        return None


def _canonical(nodes: list[LockKey], locks: dict[LockKey, LockInfo]) -> tuple[LockKey, ...]:
    i = min(range(len(nodes)), key=lambda k: locks[nodes[k]].number)
    return tuple(nodes[i:] + nodes[:i])
