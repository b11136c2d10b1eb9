"""Races in the conformance tests' own code: the suppressions file, and what a race-check run reported.

Used by libc_conformance.py under `--check races`. The file
(conformance_race_suppressions.txt next to this one; its header gives the
format) names, per test, function patterns whose plain accesses that test's
runs do not check (wasmconc `--race-suppress`): races in the test's own code,
each entry under a comment saying which variable races and why. Applied to
that test only, so a race anywhere else still fails its run. To say what they
hide, such a test also runs once per mode without its entries, and the reports
of that run that the entries match are counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["DEFAULT_FILE", "Suppression", "SuppressionsError", "race_pairs", "race_report", "read_suppressions",
           "suppressed_by"]

DEFAULT_FILE = Path(__file__).resolve().parent / "conformance_race_suppressions.txt"
# The header line of a race report (pytest_wasmconc.checks.races.report): the two functions.
_HEADER = re.compile(r"^WARNING: data race between (\S+)(?: and (\S+))? in ", re.M)


class SuppressionsError(ValueError):
    """A suppressions file that cannot be used, with one line saying where and why."""


@dataclass(frozen=True)
class Suppression:
    """One entry: a function pattern for one test, and the comment above it (why the race is real)."""

    test: str
    pattern: str  # a Python regex matched against whole function names (wasmconc --race-suppress)
    why: str
    line: int


def read_suppressions(path: Path) -> list[Suppression]:
    """The entries of a suppressions file.

    An entry is `TEST FUNCTION-PATTERN`; the comment lines right above it (entries that follow each
    other share them, a blank line ends them) say why the race is real: an entry without any is refused.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuppressionsError(f"{path}: {exc.strerror or exc}") from None
    entries: list[Suppression] = []
    comment: list[str] = []
    after_entry = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            comment, after_entry = [], False
            continue
        if line.startswith("#"):
            if after_entry:
                comment, after_entry = [], False
            comment.append(line.lstrip("#").strip())
            continue
        fields = line.split()
        if len(fields) != 2:
            raise SuppressionsError(f"{path}:{number}: expected `TEST FUNCTION-PATTERN`, got {line!r}")
        if not any(comment):
            raise SuppressionsError(f"{path}:{number}: {line!r} has no comment above it saying which variable "
                                    "races and why")
        try:
            re.compile(fields[1])
        except re.error as exc:
            raise SuppressionsError(f"{path}:{number}: {fields[1]!r} is not a valid regular expression: "
                                    f"{exc}") from None
        entries.append(Suppression(fields[0], fields[1], " ".join(c for c in comment if c), number))
        after_entry = True
    return entries


def race_pairs(output: str) -> list[tuple[str, str]]:
    """The two functions of every race report in a run's output (one function twice: a race with itself)."""
    return [(m.group(1), m.group(2) or m.group(1)) for m in _HEADER.finditer(output)]


def suppressed_by(pair: tuple[str, str], patterns: Sequence[str]) -> bool:
    """Whether the patterns hide a report: either access is in a function they match (as --race-suppress)."""
    return any(re.fullmatch(p, f) for p in patterns for f in pair)


class _Run(Protocol):
    output: str


class _Record(Protocol):
    """What race_report reads of libc_conformance.py's TestRecord."""

    name: str
    build_error: str | None

    @property
    def runs(self) -> Mapping[str, _Run]: ...

    @property
    def unsuppressed(self) -> Mapping[str, _Run]: ...


def race_report(records: Sequence[_Record], modes: Sequence[str], suppressions: Sequence[Suppression], source: str,
                emit: Callable[[str], None]) -> int:
    """Print the reports each test's entries suppressed (per mode), the entries that matched nothing,
    and the races reported anyway; return how many tests reported a race no entry suppresses."""
    by_test: dict[str, list[Suppression]] = {}
    for sup in suppressions:
        by_test.setdefault(sup.test, []).append(sup)
    built = [r for r in records if r.build_error is None]
    rows: list[str] = []
    hidden = 0
    used: set[Suppression] = set()
    for r in built:
        entries = by_test.get(r.name)
        if not entries or not r.unsuppressed:
            continue
        counts = []
        for mode in modes:
            res = r.unsuppressed.get(mode)
            if res is None:
                continue
            pairs = race_pairs(res.output)
            used.update(e for e in entries for pair in pairs if suppressed_by(pair, [e.pattern]))
            n = sum(suppressed_by(pair, [e.pattern for e in entries]) for pair in pairs)
            hidden += n
            counts.append(f"{mode} {n}")
        rows.append(f"  {r.name:<46} {', '.join(counts):<38} {' '.join(e.pattern for e in entries)}")
    if rows:
        emit(f"\nrace reports suppressed as races in the tests' own code ({source}; counted in one run per "
             "mode without the test's entries):")
        for row in rows:
            emit(row)
    ran = {r.name for r in built if r.unsuppressed}
    for e in suppressions:
        if e.test in ran and e not in used:
            emit(f"stale race suppression {source}:{e.line}: {e.test} {e.pattern} matched no report in any mode")
    racy: list[tuple[str, str]] = []
    for r in built:
        for mode in modes:
            res = r.runs.get(mode)
            pairs = race_pairs(res.output) if res is not None else []
            if pairs:
                racy.append((r.name, f"{mode:<8} " + "; ".join(a if a == b else f"{a} / {b}"
                                                              for a, b in dict.fromkeys(pairs))))
    tests = len({name for name, _ in racy})
    if racy:
        emit(f"\nrace check: {tests} test(s) report races that no entry of {source} suppresses:")
        for name, what in racy:
            emit(f"  {name:<46} {what}")
    else:
        emit(f"\nrace check: no race reported except the suppressed test-code races listed ({len(rows)} tests, "
             f"{hidden} reports)")
    return tests
