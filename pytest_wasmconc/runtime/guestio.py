"""What the guest sees of the world: argv, environment, preopened directories, stdin, the WASI to use."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["GuestIO", "Stdin"]

Stdin = bytes | str | os.PathLike | None


@dataclass
class GuestIO:
    """What the guest sees of the world: argv, environment, preopened dirs, stdio."""

    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    dirs: Sequence[tuple[str, str]] = ()  # (host directory, guest path)
    stdin: Stdin = None  # bytes, a file path, "inherit", or None (empty)
    passthrough: bool = False  # also copy guest output to the real stdout/stderr
    wasi: str = "sandbox"  # "sandbox" (the project's shared WASI) or "native" (wasmtime's)
    program_name: str | None = None  # argv[0]; the guest file name by default
    wasi_options: Mapping[str, Any] = field(default_factory=dict)  # extra WasiConfig fields (faults, ...)

    def __post_init__(self) -> None:
        if self.wasi not in ("sandbox", "native"):
            raise ConfigError(f"invalid WASI implementation {self.wasi!r} (valid: sandbox, native)")
        if not isinstance(self.wasi_options, Mapping):
            raise ConfigError(f"WASI options must be a mapping, not {type(self.wasi_options).__name__}")
        if self.wasi == "native" and self.wasi_options:
            raise ConfigError(f"WASI options {sorted(self.wasi_options)} need the sandbox WASI; "
                              "wasmtime's own (native) cannot apply them")
        if isinstance(self.args, (str, bytes)) or not isinstance(self.args, Iterable):
            raise ConfigError(f"guest args must be a sequence of strings, not {type(self.args).__name__} "
                              f"{self.args!r}")
        for i, arg in enumerate(self.args):
            if not isinstance(arg, str):
                raise ConfigError(f"guest args[{i}] must be a str, not {type(arg).__name__} {arg!r}")
            if "\0" in arg:
                raise ConfigError(f"guest args[{i}] {arg!r} contains a NUL byte")
        if not isinstance(self.env, Mapping):
            raise ConfigError(f"guest env must be a mapping of str to str, not {type(self.env).__name__}")
        for name, value in self.env.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise ConfigError(f"guest env {name!r}={value!r}: names and values must be str")
        if isinstance(self.dirs, (str, bytes)) or not isinstance(self.dirs, Iterable):
            raise ConfigError(f"preopened dirs must be (host directory, guest path) pairs, not {self.dirs!r}")
        for entry in self.dirs:
            if not isinstance(entry, (tuple, list)) or len(entry) != 2:
                raise ConfigError(f"preopened dir {entry!r}: expected a (host directory, guest path) pair")
            host, guest = entry
            if not isinstance(host, (str, os.PathLike)):
                raise ConfigError(f"preopened dir {entry!r}: the host directory must be a path, "
                                  f"not {type(host).__name__}")
            if not isinstance(guest, str) or not guest or "\0" in guest:
                raise ConfigError(f"preopened dir {os.fspath(host)}: the guest path must be a non-empty str, "
                                  f"got {guest!r}")
            if not Path(host).exists():
                raise ConfigError(f"preopened directory {os.fspath(host)}: no such directory")
            if not Path(host).is_dir():
                raise ConfigError(f"preopened directory {os.fspath(host)}: not a directory")
        if self.stdin is not None and not isinstance(self.stdin, (bytes, bytearray, str, os.PathLike)):
            raise ConfigError(f"guest stdin must be bytes, a file path, 'inherit' or None, "
                              f"not {type(self.stdin).__name__}")
