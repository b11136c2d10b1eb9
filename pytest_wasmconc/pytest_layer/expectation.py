"""What a `run()` or `explore()` call expects of each guest execution (no silent passes).

By default every execution must exit with code 0: an outcome that is not the
expected one fails the test (`GuestOutcomeError`) with the guest report, as a
marker's check does. `expect=` names another ending ("trapped", "deadlock",
"hang"), `expect_exit=` another exit code (None: any), and `check=False`
returns the outcome instead, for a test that looks at it itself.

Light on purpose (no runtime import): records.py reads it in every failing test's report hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..runtime.errors import ConfigError

__all__ = ["ENDINGS", "Expectation"]

# The endings `expect=` takes: the values of runtime.outcome.Status (a str enum, so Status.DEADLOCK works too).
ENDINGS = ("exited", "trapped", "deadlock", "hang")
_WORDS = {"trapped": "a trap", "deadlock": "a deadlock", "hang": "a hang"}


@dataclass(frozen=True)
class Expectation:
    """How each execution of one call is expected to end."""

    status: str = "exited"
    exit_code: int | None = 0  # for "exited" only; None: any exit code

    @classmethod
    def of(cls, call: str, expect: Any, expect_exit: Any) -> Expectation:
        """The expectation of `call` ("run", "explore") from its arguments; ConfigError when one is bad."""
        __tracebackhide__ = True  # a bad argument shows at the test's line
        status = getattr(expect, "value", expect)  # Status.DEADLOCK as well as "deadlock"
        if not isinstance(status, str) or status not in ENDINGS:
            raise ConfigError(f"{call}(expect={expect!r}): expected one of {', '.join(ENDINGS)}")
        if expect_exit is not None and (isinstance(expect_exit, bool) or not isinstance(expect_exit, int)):
            raise ConfigError(f"{call}(expect_exit={expect_exit!r}): expected an exit code (int) or None")
        return cls(status, expect_exit if status == "exited" else None)

    def met_by(self, outcome: Any) -> bool:
        """Whether the outcome ended as expected (a marker's checks are judged apart)."""
        if outcome.status != self.status:
            return False
        return self.status != "exited" or self.exit_code is None or outcome.exit_code == self.exit_code

    def describe(self) -> str:
        if self.status != "exited":
            return _WORDS[self.status]
        return "an exit (any code)" if self.exit_code is None else f"exit code {self.exit_code}"
