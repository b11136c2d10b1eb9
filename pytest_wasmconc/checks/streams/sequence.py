"""Expected event sequences: a small regular language over stream events.

A pattern is a string of items separated by spaces:

* an event name (`check-write`, `write`, `flush`, `blocking-flush`,
  `blocking-write-and-flush`, `subscribe`, `poll`, `ready`) matches that event
  with any argument; `write(12)` or `check-write(0)` only that argument;
* `( ... )` groups, `a | b` chooses, and a postfix `*`, `+`, `?`, `{n}` or
  `{n,m}` repeats the item before it.

    "check-write write flush subscribe poll ready"          one round
    "(check-write write flush subscribe (poll ready)?)+"    any number of rounds

A list of tokens (`["check-write(4096)", "write(6)", "flush"]`) is the exact
sequence. Matching runs a Thompson NFA over the events, so a mismatch names
the first event the pattern could not accept and what it could have accepted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ...wasi.p2.events import SEQUENCE_KINDS, Event

__all__ = ["Mismatch", "Pattern", "PatternError", "compile_pattern"]


class PatternError(ValueError):
    """An `expect` pattern that cannot be parsed."""


@dataclass(frozen=True)
class Mismatch:
    """Where a sequence left the pattern: the first event it could not take (None: it ended too early)."""

    position: int  # index into the matched token list
    event: Event | None
    expected: tuple[str, ...]

    def explain(self, stream: str) -> str:
        want = ", ".join(self.expected) if self.expected else "the end of the sequence"
        if self.event is None:
            return f"{stream}: the sequence ended after {self.position} events; the pattern still expects {want}"
        return (f"{stream}: event #{self.event.index} ({self.event.token()}, the {_nth(self.position + 1)} "
                f"{stream} event) does not match the pattern; expected {want}")


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# -- parsing -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Tok:
    name: str
    arg: str | None


@dataclass(frozen=True)
class _Seq:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Alt:
    options: tuple[_Node, ...]


@dataclass(frozen=True)
class _Rep:
    node: _Node
    lo: int
    hi: int | None


_Node = _Tok | _Seq | _Alt | _Rep

_LEX = re.compile(r"\s*(?:(?P<tok>[a-z][a-z-]*(?:\((?P<arg>[^()\s]*)\))?)|(?P<punct>[()|*+?])"
                  r"|(?P<rep>\{\s*\d+\s*(?:,\s*\d*\s*)?\}))")


def _lex(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _LEX.match(text, pos)
        if m is None or m.end() == pos:
            raise PatternError(f"cannot read the pattern at {text[pos:pos + 20]!r} (in {text!r})")
        if m.group("tok"):
            out.append(("tok", m.group("tok")))
        elif m.group("punct"):
            out.append((m.group("punct"), m.group("punct")))
        else:
            out.append(("rep", m.group("rep")))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], source: str) -> None:
        self.toks = tokens
        self.i = 0
        self.source = source

    def peek(self) -> str | None:
        return self.toks[self.i][0] if self.i < len(self.toks) else None

    def alt(self) -> _Node:
        options = [self.seq()]
        while self.peek() == "|":
            self.i += 1
            options.append(self.seq())
        return options[0] if len(options) == 1 else _Alt(tuple(options))

    def seq(self) -> _Node:
        items: list[_Node] = []
        while self.peek() not in (None, ")", "|"):
            items.append(self.postfix())
        return _Seq(tuple(items))

    def postfix(self) -> _Node:
        node = self.atom()
        while self.peek() in ("*", "+", "?", "rep"):
            kind, text = self.toks[self.i]
            self.i += 1
            if kind == "*":
                node = _Rep(node, 0, None)
            elif kind == "+":
                node = _Rep(node, 1, None)
            elif kind == "?":
                node = _Rep(node, 0, 1)
            else:
                lo_text, _, hi_text = text.strip("{} ").partition(",")
                lo = int(lo_text)
                hi = lo if "," not in text else (int(hi_text) if hi_text.strip() else None)
                if hi is not None and hi < lo:
                    raise PatternError(f"{text} in {self.source!r}: the maximum is below the minimum")
                node = _Rep(node, lo, hi)
        return node

    def atom(self) -> _Node:
        kind, text = self.toks[self.i]
        self.i += 1
        if kind == "(":
            node = self.alt()
            if self.peek() != ")":
                raise PatternError(f"missing ')' in {self.source!r}")
            self.i += 1
            return node
        if kind != "tok":
            raise PatternError(f"unexpected {text!r} in {self.source!r}")
        name, _, rest = text.partition("(")
        if name not in SEQUENCE_KINDS:
            raise PatternError(f"unknown event {name!r} in {self.source!r} (events: {', '.join(SEQUENCE_KINDS)})")
        return _Tok(name, rest[:-1] if rest else None)


# -- the NFA ---------------------------------------------------------------------------------

@dataclass
class _State:
    tok: _Tok | None = None  # consumes one matching event, then goes to out[0]
    out: tuple[int, ...] = ()  # epsilon moves (when tok is None)
    final: bool = False


class Pattern:
    """A compiled expected sequence."""

    def __init__(self, source: str | Sequence[str]) -> None:
        if isinstance(source, str):
            text = source
            tree = self._parse(text)
        else:
            items = [str(s) for s in source]
            text = " ".join(items)
            for item in items:
                if not re.fullmatch(r"[a-z][a-z-]*(?:\([^()\s]*\))?", item):
                    raise PatternError(f"{item!r} is not an event token like 'write(12)' or 'flush'")
            tree = self._parse(text)
        self.source = text
        self._states: list[_State] = []
        end = self._new(_State(final=True))
        self._start = self._build(tree, end)

    @staticmethod
    def _parse(text: str) -> _Node:
        toks = _lex(text)
        p = _Parser(toks, text)
        node = p.alt()
        if p.peek() is not None:
            raise PatternError(f"unexpected {p.toks[p.i][1]!r} in {text!r}")
        return node

    def _new(self, st: _State) -> int:
        self._states.append(st)
        return len(self._states) - 1

    def _build(self, node: _Node, nxt: int) -> int:
        """States for `node` that continue to `nxt`; returns the entry state."""
        if isinstance(node, _Tok):
            return self._new(_State(tok=node, out=(nxt,)))
        if isinstance(node, _Seq):
            for item in reversed(node.items):
                nxt = self._build(item, nxt)
            return nxt
        if isinstance(node, _Alt):
            return self._new(_State(out=tuple(self._build(o, nxt) for o in node.options)))
        # repetition: lo mandatory copies, then optional ones (or a loop)
        if node.hi is None:
            loop = self._new(_State())
            body = self._build(node.node, loop)
            self._states[loop].out = (body, nxt)
            entry = loop
        else:
            # optional copies, built from the back: each may skip straight to `nxt`
            entry = nxt
            for _ in range(node.hi - node.lo):
                opt = self._new(_State())
                self._states[opt].out = (self._build(node.node, entry), nxt)
                entry = opt
        for _ in range(node.lo):
            entry = self._build(node.node, entry)
        return entry

    def _closure(self, states: set[int]) -> set[int]:
        stack = list(states)
        seen = set(states)
        while stack:
            s = stack.pop()
            st = self._states[s]
            if st.tok is None:
                for o in st.out:
                    if o not in seen:
                        seen.add(o)
                        stack.append(o)
        return seen

    def _expected(self, states: set[int]) -> tuple[str, ...]:
        names = []
        for s in sorted(states):
            tok = self._states[s].tok
            if tok is not None:
                names.append(f"{tok.name}({tok.arg})" if tok.arg is not None else tok.name)
        if any(self._states[s].final for s in states):
            names.append("the end")
        return tuple(dict.fromkeys(names))

    def match(self, events: Sequence[Event]) -> Mismatch | None:
        """None when the events are a sentence of the pattern; else where they left it."""
        current = self._closure({self._start})
        for pos, ev in enumerate(events):
            name, arg = ev.kind, _arg_of(ev)
            nxt: set[int] = set()
            for s in current:
                tok = self._states[s].tok
                if tok is not None and tok.name == name and (tok.arg is None or tok.arg == arg):
                    nxt.add(self._states[s].out[0])
            if not nxt:
                return Mismatch(pos, ev, self._expected(current))
            current = self._closure(nxt)
        if any(self._states[s].final for s in current):
            return None
        return Mismatch(len(events), None, self._expected(current))

    def __repr__(self) -> str:
        return f"Pattern({self.source!r})"


def _arg_of(ev: Event) -> str | None:
    tok = ev.token()
    return tok[tok.index("(") + 1:-1] if "(" in tok else None


def compile_pattern(source: str | Sequence[str] | Pattern) -> Pattern:
    return source if isinstance(source, Pattern) else Pattern(source)
