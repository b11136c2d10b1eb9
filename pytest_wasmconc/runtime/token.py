"""Replay tokens: a short, versioned string holding everything that replays one execution.

A token records the policy, its seed and slice, the PCT depth, the
instrumentation level, the wasmtime version and the engine configuration
fingerprint (the instrumenter's counter, and Wasmtime's own fuel for
components, are part of what a schedule depends on: a token made under
another version or configuration could silently replay something else), and, for
policies that are not reproducible from a seed, the decision list itself.

Format: "wc1-" + urlsafe base64 of zlib-compressed compact JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass, field

from .engine import wasmtime_version
from .errors import ConfigError, ReplayError
from .settings import EngineSettings, Preempt, RunSettings

__all__ = ["TOKEN_PREFIX", "ReplayToken", "decode_token", "encode_token"]

TOKEN_PREFIX = "wc1-"
_FORMAT_VERSION = 1


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

    @classmethod
    def for_run(cls, settings: RunSettings, decisions: tuple[int, ...] = (),
                slices: tuple[int, ...] = ()) -> ReplayToken:
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
        )

    def check_compatible(self) -> None:
        here = wasmtime_version()
        if self.wasmtime != here:
            raise ReplayError(
                f"this replay token was made with wasmtime {self.wasmtime}, but wasmtime {here} is installed; "
                "quantum costs may differ between versions, so the schedule cannot be replayed exactly"
            )
        engine = EngineSettings.for_mode(Preempt.FUEL).short_fingerprint()
        if self.engine != engine:
            raise ReplayError(
                "this replay token was made under another engine configuration "
                f"(fingerprint {self.engine}); this installation's is {engine}"
            )

    def apply(self, settings: RunSettings) -> RunSettings:
        """Settings that replay this token (fuel mode, the token's policy and parameters)."""
        policy = self.policy
        if self.decisions:
            policy = "replay"
        return settings.with_(
            preempt=Preempt.FUEL, policy=policy, seed=self.seed, slice=self.slice, depth=self.depth,
            level=self.level, decisions=self.decisions, slices=self.slices,
        )


def encode_token(token: ReplayToken) -> str:
    doc: dict[str, object] = {
        "v": _FORMAT_VERSION, "p": token.policy, "s": token.seed, "q": token.slice, "d": token.depth,
        "l": token.level, "w": token.wasmtime, "e": token.engine,
    }
    if token.decisions:
        doc["D"] = list(token.decisions)
        doc["Q"] = list(token.slices)
    raw = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode_token(text: str) -> ReplayToken:
    if not isinstance(text, str):
        raise ReplayError(f"a replay token is a str starting with {TOKEN_PREFIX!r}, not {type(text).__name__}")
    text = text.strip()
    if not text.startswith(TOKEN_PREFIX):
        raise ReplayError(f"not a wasmconc replay token (expected it to start with {TOKEN_PREFIX!r})")
    body = text[len(TOKEN_PREFIX):]
    try:
        inflate = zlib.decompressobj()
        raw = inflate.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if not inflate.eof or inflate.unused_data:
            raise ValueError("trailing or missing data")
        doc = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError):
        raise ReplayError("damaged replay token (it does not decode); copy the whole token") from None
    if not isinstance(doc, dict) or doc.get("v") != _FORMAT_VERSION:
        raise ReplayError(f"replay token format {doc.get('v') if isinstance(doc, dict) else '?'} is not supported "
                          f"by this version of pytest-wasmconc (format {_FORMAT_VERSION})")
    try:
        token = ReplayToken(
            policy=str(doc["p"]), seed=int(doc["s"]), slice=int(doc["q"]), depth=int(doc["d"]),
            level=str(doc["l"]), wasmtime=str(doc["w"]), engine=str(doc["e"]),
            decisions=tuple(int(x) for x in doc.get("D", ())),
            slices=tuple(int(x) for x in doc.get("Q", ())),
        )
    except (KeyError, TypeError, ValueError):
        raise ReplayError("damaged replay token (fields missing)") from None
    try:
        token.apply(RunSettings())  # every field within what a run accepts
    except ConfigError as exc:
        raise ReplayError(f"damaged replay token ({exc})") from None
    return token
