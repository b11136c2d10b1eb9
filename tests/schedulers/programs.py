"""Fake guest programs shared by the scheduler tests."""

from __future__ import annotations

from schedsim import Op, Set, Spawn, Step, Wait, Work, program


def busy_program() -> tuple[Op, ...]:
    """Three threads mixing long work, scheduling points, a spawn and a wait/notify."""
    waiter = program(Wait("ready"), Work(35), Step("w1"), Work(20), Step("w2"))
    counter = program(*(op for i in range(6) for op in (Work(9), Step(f"c{i}"))))
    return program(
        Spawn(waiter),
        Work(15),
        Spawn(counter),
        Step("m1"),
        Work(40),
        Set("ready"),
        Work(25),
        Step("m2"),
    )


def other_program() -> tuple[Op, ...]:
    """A different shape, to run before the program under test."""
    return program(Spawn(program(Work(70), Step("x"))), Work(50), Step("y"), Work(30))
