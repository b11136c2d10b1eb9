"""The protocol checker and expected sequences, on hand-written event sequences (no wasm)."""

from __future__ import annotations

import pytest

from pytest_wasmconc.checks.streams import Event, Pattern, PatternError, ProtocolChecker
from pytest_wasmconc.wasi.p2.events import BLOCKING_WRITE_LIMIT


def events(*specs: str, stream: str = "stdout") -> list[Event]:
    """Events from tokens: 'check-write=64', 'write=9', 'flush', 'subscribe=p2', 'poll=p2', 'exit'."""
    out = []
    for i, spec in enumerate(specs, start=1):
        kind, _, value = spec.partition("=")
        if kind == "check-write":
            out.append(Event(i, stream, kind, result=value if value in ("closed", "last-operation-failed")
                             else int(value)))
        elif kind in ("write", "blocking-write-and-flush"):
            n, _, err = value.partition("!")
            out.append(Event(i, stream, kind, arg=int(n), result=err or None))
        elif kind in ("subscribe", "ready", "drop"):
            out.append(Event(i, stream, kind, arg=int(value[1:])))
        elif kind == "poll":
            out.append(Event(i, stream, kind, pollables=tuple(int(p[1:]) for p in value.split(","))))
        elif kind == "exit":
            out.append(Event(i, stream, kind, detail=value))
        else:
            out.append(Event(i, stream, kind))
    return out


def violations(*specs: str, busy_poll: int = 3) -> list[tuple[str, int]]:
    checker = ProtocolChecker(busy_poll_limit=busy_poll)
    return [(v.kind, v.index) for v in checker.observe_all(events(*specs))]


CORRECT_ROUND = ("check-write=64", "write=9", "flush", "subscribe=p2", "poll=p2", "ready=p2", "drop=p2")


def test_the_correct_loop_breaks_no_rule() -> None:
    assert violations(*CORRECT_ROUND, "check-write=64", "write=9", "flush", "subscribe=p3", "poll=p3",
                      "ready=p3", "exit") == []


def test_a_zero_permit_then_a_wait_then_a_permit_is_correct() -> None:
    assert violations("check-write=0", "subscribe=p1", "poll=p1", "ready=p1", "check-write=4", "write=4",
                      "blocking-flush", "exit") == []


def test_a_write_before_any_check_write_is_a_write_without_permit() -> None:
    assert violations("write=1") == [("write-without-permit", 1)]


def test_a_second_write_on_one_permit_is_a_write_without_permit() -> None:
    assert violations("check-write=64", "write=9", "write=9") == [("write-without-permit", 3)]


def test_a_flush_revokes_the_permit() -> None:
    assert violations("check-write=64", "flush", "write=9") == [("write-without-permit", 3)]


def test_a_write_beyond_the_permit_is_flagged_with_its_index() -> None:
    checker = ProtocolChecker()
    found = checker.observe_all(events("check-write=4", "write=9"))
    assert [(v.kind, v.index, v.stream) for v in found] == [("write-beyond-permit", 2, "stdout")]
    assert "beyond the permit of 4 (check-write at event #1)" in found[0].message


def test_waiting_on_a_pollable_subscribed_before_a_write_is_stale() -> None:
    assert violations("subscribe=p1", "check-write=64", "write=9", "flush", "poll=p1") == [("stale-pollable", 5)]


def test_a_pollable_subscribed_after_the_last_change_is_fresh() -> None:
    assert violations("check-write=64", "write=9", "subscribe=p1", "poll=p1") == []


def test_a_write_after_an_error_is_flagged() -> None:
    assert violations("check-write=64", "write=9", "flush", "check-write=last-operation-failed",
                      "write=9") == [("write-after-error", 5)]


def test_a_blocking_write_after_an_error_is_flagged() -> None:
    assert violations("check-write=closed", "blocking-write-and-flush=3") == [("write-after-error", 2)]


def test_exiting_with_bytes_never_flushed_is_flagged() -> None:
    assert violations("check-write=64", "write=9", "exit") == [("unflushed-at-exit", 3)]


def test_exiting_while_a_flush_is_in_flight_is_flagged() -> None:
    assert violations("check-write=64", "write=9", "flush", "exit=a flush was still in flight") == \
        [("unflushed-at-exit", 4)]


def test_busy_polling_check_write_without_ever_subscribing_is_flagged_at_the_limit() -> None:
    assert violations("check-write=64", "write=1", "flush", "check-write=0", "check-write=0",
                      "check-write=0") == [("busy-poll", 6)]
    assert violations("check-write=0", "check-write=0", busy_poll=2) == [("busy-poll", 2)]


def test_polling_check_write_on_a_subscribed_stream_is_not_busy_polling() -> None:
    assert violations("subscribe=p1", "check-write=0", "check-write=0", "check-write=0", "check-write=0") == []


def test_a_blocking_write_and_flush_over_4096_bytes_is_flagged() -> None:
    assert violations(f"blocking-write-and-flush={BLOCKING_WRITE_LIMIT + 1}") == \
        [("blocking-write-too-large", 1)]
    assert violations(f"blocking-write-and-flush={BLOCKING_WRITE_LIMIT}", "exit") == []


def test_streams_are_checked_separately() -> None:
    checker = ProtocolChecker()
    checker.observe(Event(1, "stdout", "check-write", result=8))
    checker.observe(Event(2, "stderr", "write", arg=1))
    assert [(v.kind, v.stream) for v in checker.violations] == [("write-without-permit", "stderr")]


# -- expected sequences -------------------------------------------------------------------------------


def test_a_pattern_matches_any_number_of_rounds_and_arguments() -> None:
    p = Pattern("(check-write write flush subscribe poll ready)+")
    seq = [e for e in events(*CORRECT_ROUND, *CORRECT_ROUND) if e.kind != "drop"]
    assert p.match(seq) is None


def test_a_mismatch_names_the_first_event_that_does_not_fit_and_what_would() -> None:
    m = Pattern("check-write write flush").match(events("check-write=4", "flush"))
    assert m is not None and m.position == 1 and m.event is not None and m.event.index == 2
    assert m.expected == ("write",)
    assert "event #2 (flush, the 2nd stdout event) does not match" in m.explain("stdout")


def test_a_sequence_that_ends_early_is_a_mismatch() -> None:
    m = Pattern("check-write write flush").match(events("check-write=4"))
    assert m is not None and m.event is None and "still expects write" in m.explain("stdout")


def test_arguments_and_bounded_repeats_are_matched_exactly() -> None:
    assert Pattern("check-write(4) write(4){2}").match(events("check-write=4", "write=4", "write=4")) is None
    assert Pattern("check-write(4) write{2}").match(events("check-write=8", "write=4", "write=4")) is not None
    assert Pattern("write{1,2} flush").match(events("write=1", "write=1", "write=1", "flush")) is not None
    assert Pattern("write? | flush").match(events("flush")) is None


def test_a_list_of_tokens_is_the_exact_sequence() -> None:
    p = Pattern(["check-write(64)", "write(9)", "flush"])
    assert p.match(events("check-write=64", "write=9", "flush")) is None
    assert p.match(events("check-write=64", "write=8", "flush")) is not None


@pytest.mark.parametrize("bad", ["writ", "(write", "write )", "write{3,1}", "write $", "{2}"])
def test_a_bad_pattern_is_an_error_naming_it(bad: str) -> None:
    with pytest.raises(PatternError):
        Pattern(bad)
