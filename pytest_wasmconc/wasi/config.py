"""What a guest's WASI world looks like: arguments, environment, preopens, stdio."""

from __future__ import annotations

import os
import stat as host_stat
from dataclasses import dataclass, field
from typing import Literal, Union

from .faults import FaultPlan

__all__ = ["Preopen", "StdinSpec", "WasiConfig", "WasiConfigError"]

# None: empty stdin (immediate EOF); bytes: that data; a path: that file;
# "inherit": the test process's real stdin, drained by a pump thread.
StdinSpec = Union[bytes, str, "os.PathLike[str]", None, Literal["inherit"]]


class WasiConfigError(ValueError):
    """The configuration cannot be realized (missing preopen, bad argument...)."""


@dataclass
class Preopen:
    """Expose host directory `host_dir` to the guest as `guest_path` (e.g. ".")."""

    host_dir: str | os.PathLike[str]
    guest_path: str


@dataclass
class WasiConfig:
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    preopens: list[Preopen] = field(default_factory=list)
    # A `str` other than "inherit" is a path; use a PathLike for a file
    # literally named "inherit".
    stdin: StdinSpec = None
    stdout_passthrough: bool = False
    faults: FaultPlan | None = None
    trace_limit: int = 10000

    def validate(self) -> None:
        """Raise WasiConfigError with a precise message for anything unusable."""
        for i, arg in enumerate(self.args):
            if not isinstance(arg, str):
                raise WasiConfigError(f"args[{i}] must be a str, got {type(arg).__name__}")
            if "\0" in arg:
                raise WasiConfigError(f"args[{i}] contains a NUL byte")
        for key, value in self.env.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise WasiConfigError(f"env entry {key!r} must map str to str")
            if not key or "=" in key or "\0" in key:
                raise WasiConfigError(f"env name {key!r} must be non-empty without '=' or NUL")
            if "\0" in value:
                raise WasiConfigError(f"env value of {key!r} contains a NUL byte")
        for i, pre in enumerate(self.preopens):
            if not isinstance(pre, Preopen):
                raise WasiConfigError(f"preopens[{i}] must be a Preopen, got {type(pre).__name__}")
            host_dir = os.fspath(pre.host_dir)
            if not os.path.exists(host_dir):
                raise WasiConfigError(f"preopen host directory {host_dir!r} does not exist")
            if not os.path.isdir(host_dir):
                raise WasiConfigError(f"preopen host path {host_dir!r} is not a directory")
            if not isinstance(pre.guest_path, str) or not pre.guest_path or "\0" in pre.guest_path:
                raise WasiConfigError(
                    f"preopen guest path {pre.guest_path!r} must be a non-empty str without NUL"
                )
        stdin = self.stdin
        if stdin is not None and not isinstance(stdin, (bytes, bytearray)) and stdin != "inherit":
            if not isinstance(stdin, (str, os.PathLike)):
                raise WasiConfigError(
                    f"stdin must be None, bytes, a path or 'inherit', got {type(stdin).__name__}"
                )
            path = os.fspath(stdin)
            try:
                mode = os.stat(path).st_mode
            except OSError as exc:
                raise WasiConfigError(f"stdin file {path!r}: {exc.strerror}") from None
            if host_stat.S_ISDIR(mode):
                raise WasiConfigError(f"stdin path {path!r} is a directory")
            if not os.access(path, os.R_OK):
                raise WasiConfigError(f"stdin file {path!r} is not readable")
        if not isinstance(self.trace_limit, int) or self.trace_limit < 0:
            raise WasiConfigError(f"trace_limit must be an int >= 0, got {self.trace_limit!r}")
        if self.faults is not None and not isinstance(self.faults, FaultPlan):
            raise WasiConfigError(f"faults must be a FaultPlan, got {type(self.faults).__name__}")
