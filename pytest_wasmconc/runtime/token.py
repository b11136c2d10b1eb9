"""Replay tokens: a short, versioned string holding everything that replays one execution.

A token records the policy, its seed and slice, the PCT depth, the
instrumentation level, the wasmtime version and the engine configuration
fingerprint (the instrumenter's counter, and Wasmtime's own fuel for
components, are part of what a schedule depends on: a token made under
another version or configuration could silently replay something else), the
guest it was made on (a digest of the module's bytes as read, before
instrumentation) and the guest's argument list (another guest, or the same
one with other arguments, would silently run some other schedule), and, for
policies that are not reproducible from a seed, the decision list itself.

Format: "wc1-" + urlsafe base64 of zlib-compressed compact JSON. The prefix
names that envelope; the JSON's "v" names the set of fields inside (2: bound
to the guest and its arguments). Every field is checked on decoding: a token
is pasted from a terminal, and anything it holds reaches the scheduler's
native code, so a value no run can have is refused here with one line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..schedulers.base import POLICY_VERSION
from .version import wasmtime_version
from .errors import ConfigError, ReplayError
from .settings import MAX_SLICE, EngineSettings, Preempt, RunSettings

__all__ = [
    "MAX_SLICE",
    "TOKEN_PREFIX",
    "GuestIdentity",
    "ReplayToken",
    "decode_token",
    "encode_token",
    "guest_digest",
]

TOKEN_PREFIX = "wc1-"
_FORMAT_VERSION = 2
# wasi-threads: thread ids are positive and at most 0x1FFFFFFF; 0 is the main thread.
_MAX_TID = 0x1FFF_FFFF
_DIGEST_HEX = 16  # 64 bits of sha256: tells guests apart, keeps tokens short
_HEX = re.compile(r"[0-9a-f]+")
_KNOWN_KEYS = frozenset("viypsqdlweDQgnahkcf")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


# Digest of a guest's bytes, kept for the few byte strings in use: an
# exploration stamps thousands of outcomes (and the crash log describes each
# execution) with the same program.
_digests: OrderedDict[int, tuple[bytes, str]] = OrderedDict()
_digests_lock = threading.Lock()


def guest_digest(data: bytes) -> str:
    """The short sha256 hex digest that identifies a guest module in a token."""
    key = id(data)
    with _digests_lock:
        hit = _digests.get(key)
        if hit is not None and hit[0] is data:
            _digests.move_to_end(key)
            return hit[1]
    digest = hashlib.sha256(data).hexdigest()[:_DIGEST_HEX]
    with _digests_lock:
        _digests[key] = (data, digest)  # the bytes are kept: their id stays theirs
        while len(_digests) > 16:
            _digests.popitem(last=False)
    return digest


@dataclass(frozen=True)
class GuestIdentity:
    """Which guest, run with which arguments, a token replays."""

    digest: str  # guest_digest() of the module bytes as read
    name: str  # the file's base name, for messages only
    args: tuple[str, ...] = ()

    @classmethod
    def of(cls, program: Any, args: Sequence[str]) -> GuestIdentity:
        """The identity of a loaded Program or ComponentProgram run with `args` (argv after argv[0])."""
        data = getattr(program, "source_wasm", b"") or program.wasm
        name = str(getattr(program, "name", "") or "<bytes>")
        return cls(guest_digest(data), name.replace("\\", "/").rsplit("/", 1)[-1], tuple(args))

    def describe(self) -> str:
        return f"{self.name} (sha256 {self.digest})"


@dataclass(frozen=True)
class ReplayToken:
    policy: str
    seed: int
    slice: int
    depth: int
    level: str
    wasmtime: str
    engine: str
    decisions: tuple[int, ...] = field(default=())
    slices: tuple[int, ...] = field(default=())
    guest: GuestIdentity | None = None
    hot_sites: tuple[int, ...] = field(default=())  # race-directed exploration's hot accesses
    pct_steps: int | None = None  # PCT's k when an explorer measured it
    pct_choices: int | None = None  # the portfolio's classic PCT's k
    free_accesses: tuple[int, ...] = field(default=())  # a recorded schedule's threads with free accesses

    @classmethod
    def for_run(cls, settings: RunSettings, decisions: tuple[int, ...] = (),
                slices: tuple[int, ...] = (), *, guest: GuestIdentity | None = None) -> ReplayToken:
        return cls(
            policy=settings.policy,
            seed=settings.seed,
            slice=settings.slice,
            depth=settings.depth,
            level=settings.level,
            wasmtime=wasmtime_version(),
            engine=EngineSettings.for_mode(Preempt.FUEL).short_fingerprint(),
            decisions=tuple(decisions),
            slices=tuple(slices),
            guest=guest,
            hot_sites=tuple(settings.hot_sites),
            pct_steps=settings.pct_steps,
            pct_choices=settings.pct_choices,
            free_accesses=tuple(settings.free_accesses) if slices else (),
        )

    def check_compatible(self) -> None:
        here = wasmtime_version()
        if self.wasmtime != here:
            raise ReplayError(
                f"this replay token was made with wasmtime {_short(self.wasmtime)}, but wasmtime {here} is "
                "installed; quantum costs may differ between versions, so the schedule cannot be replayed exactly"
            )
        engine = EngineSettings.for_mode(Preempt.FUEL).short_fingerprint()
        if self.engine != engine:
            raise ReplayError(
                "this replay token was made under another engine configuration "
                f"(fingerprint {_short(self.engine)}); this installation's is {engine}"
            )

    def check_guest(self, here: GuestIdentity) -> None:
        """Refuse to replay on another guest, or on the same guest with other arguments."""
        made = self.guest
        if made is None:
            raise ReplayError("this replay token names no guest; copy the whole token a failure printed")
        if made.digest != here.digest:
            raise ReplayError(
                f"this replay token was made for another guest: {made.describe()}, not {here.describe()}; "
                "replay it on the guest whose failure printed it"
            )
        if made.args != here.args:
            raise ReplayError(
                f"this replay token was made for {here.name} with the arguments {_short(repr(list(made.args)), 200)}"
                f", not {_short(repr(list(here.args)), 200)}; replay it with the arguments of the run that "
                "printed it"
            )

    def apply(self, settings: RunSettings) -> RunSettings:
        """Settings that replay this token (fuel mode, the token's policy and parameters)."""
        from ..schedulers import replays_from_decisions

        policy = self.policy
        if self.decisions and not replays_from_decisions(policy):
            policy = "replay"
        return settings.with_(
            preempt=Preempt.FUEL, policy=policy, seed=self.seed, slice=self.slice, depth=self.depth,
            level=self.level, decisions=self.decisions, slices=self.slices, hot_sites=self.hot_sites,
            pct_steps=self.pct_steps, pct_choices=self.pct_choices, free_accesses=self.free_accesses,
        )


def _schedule_version() -> int:
    # The instrumenter's package is heavy to import; a token is made or read rarely.
    from ..instrument.abi import SCHEDULE_VERSION

    return SCHEDULE_VERSION


def encode_token(token: ReplayToken) -> str:
    if token.guest is None:
        raise ValueError("a replay token needs the guest it replays (ReplayToken.for_run(..., guest=...))")
    doc: dict[str, object] = {
        "v": _FORMAT_VERSION, "i": _schedule_version(), "y": POLICY_VERSION, "p": token.policy, "s": token.seed, "q": token.slice,
        "d": token.depth, "l": token.level, "w": token.wasmtime, "e": token.engine,
        "g": token.guest.digest, "n": token.guest.name, "a": list(token.guest.args),
    }
    if token.hot_sites:
        doc["h"] = list(token.hot_sites)
    if token.pct_steps is not None:
        doc["k"] = token.pct_steps
    if token.pct_choices is not None:
        doc["c"] = token.pct_choices
    if token.free_accesses:
        doc["f"] = list(token.free_accesses)
    if token.decisions or token.slices:
        doc["D"] = list(token.decisions)
        doc["Q"] = list(token.slices)
    raw = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def _damaged(what: str) -> ReplayError:
    return ReplayError(f"damaged replay token ({what})")


def _int(doc: dict[str, Any], key: str, what: str, low: int | None = None, high: int | None = None) -> int:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _damaged(f"{what} must be a whole number, got {_short(repr(value))}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _damaged(f"{what} {value} is out of range ({low}..{high})")
    return value


def _str(doc: dict[str, Any], key: str, what: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str):
        raise _damaged(f"{what} must be a string, got {_short(repr(value))}")
    return value


def _int_list(doc: dict[str, Any], key: str, what: str, low: int, high: int) -> tuple[int, ...]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise _damaged(f"{what} must be a list, got {_short(repr(value))}")
    for i, x in enumerate(value):
        if isinstance(x, bool) or not isinstance(x, int):
            raise _damaged(f"{what}[{i}] must be a whole number, got {_short(repr(x))}")
        if not low <= x <= high:
            raise _damaged(f"{what}[{i}] = {x} is out of range ({low}..{high})")
    return tuple(value)


def _fields(doc: dict[str, Any]) -> ReplayToken:
    unknown = sorted(str(k) for k in doc if k not in _KNOWN_KEYS)
    if unknown:
        raise _damaged(f"unknown field{'s' if len(unknown) > 1 else ''} {_short(', '.join(unknown))}")
    digest = _str(doc, "g", "the guest digest")
    if len(digest) != _DIGEST_HEX or not _HEX.fullmatch(digest):
        raise _damaged(f"the guest digest must be {_DIGEST_HEX} hex digits, got {_short(repr(digest))}")
    args = doc.get("a")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise _damaged(f"the guest arguments must be a list of strings, got {_short(repr(args))}")
    if ("D" in doc) != ("Q" in doc):
        raise _damaged("a recorded schedule needs both its decisions and its slices")
    return ReplayToken(
        policy=_str(doc, "p", "the policy"),
        seed=_int(doc, "s", "the seed"),
        slice=_int(doc, "q", "the slice", 1, MAX_SLICE),
        depth=_int(doc, "d", "the depth", 1, 1 << 31),
        level=_str(doc, "l", "the instrumentation level"),
        wasmtime=_str(doc, "w", "the wasmtime version"),
        engine=_str(doc, "e", "the engine fingerprint"),
        # A decision names the thread that runs next: 0 (main) or a wasi-threads id.
        decisions=_int_list(doc, "D", "decision", 0, _MAX_TID),
        slices=_int_list(doc, "Q", "recorded slice", 1, MAX_SLICE),
        guest=GuestIdentity(digest, _str(doc, "n", "the guest name"), tuple(args)),
        # Byte offsets into the guest: a wasm module is at most 4 GiB.
        hot_sites=_int_list(doc, "h", "hot site", 0, (1 << 32) - 1),
        pct_steps=_int(doc, "k", "PCT's step estimate", 1, 1 << 31) if "k" in doc else None,
        pct_choices=_int(doc, "c", "PCT's decision estimate", 1, 1 << 31) if "c" in doc else None,
        free_accesses=_int_list(doc, "f", "free-access thread", 0, _MAX_TID),
    )


def decode_token(text: str) -> ReplayToken:
    if not isinstance(text, str):
        raise ReplayError(f"a replay token is a str starting with {TOKEN_PREFIX!r}, not {type(text).__name__}")
    text = text.strip()
    if not text.startswith(TOKEN_PREFIX):
        raise ReplayError(f"not a wasmconc replay token (expected it to start with {TOKEN_PREFIX!r})")
    body = text[len(TOKEN_PREFIX):]
    try:
        inflate = zlib.decompressobj()
        # A bounded inflate: a crafted token must not expand into gigabytes.
        raw = inflate.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), 64 << 20)
        if not inflate.eof or inflate.unused_data or inflate.unconsumed_tail:
            raise ValueError("trailing or missing data")
        doc = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError, RecursionError):
        raise ReplayError("damaged replay token (it does not decode); copy the whole token") from None
    if not isinstance(doc, dict):
        raise _damaged("not a record")
    version = doc.get("v")
    if version != _FORMAT_VERSION:
        made = f"format {version}" if isinstance(version, int) and not isinstance(version, bool) else "no format"
        raise ReplayError(
            f"this replay token was made by another version of pytest-wasmconc ({_short(made)}; this version "
            f"reads format {_FORMAT_VERSION}): run the failing test or command again to get a token for this version"
        )
    if doc.get("i") != _schedule_version():
        raise ReplayError(
            "this replay token was made by another version of pytest-wasmconc (its scheduling points differ, "
            "so the seed would replay another schedule): run the failing test or command again to get a token "
            "for this version"
        )
    # Tokens made before the number existed carry none: version 1.
    if doc.get("y", 1) != POLICY_VERSION:
        raise ReplayError(
            "this replay token was made by another version of pytest-wasmconc (its scheduling policies answer "
            "otherwise for a seed, so the seed would replay another schedule): run the failing test or command "
            "again to get a token for this version"
        )
    token = _fields(doc)
    if token.policy == "replay" and not token.slices:
        raise _damaged("the replay policy without a recorded schedule")
    try:
        token.apply(RunSettings())  # every field within what a run accepts (policy, level, ...)
    except ConfigError as exc:
        raise ReplayError(f"damaged replay token ({exc})") from None
    return token
