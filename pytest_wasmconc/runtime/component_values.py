"""Values crossing a component's boundary: the forms host functions use, and their conversion.

Resources cross as their `rep` (an int); a result that creates one is
`Own(kind, rep)`. Variants (and results: tags "ok"/"err") are `Variant`s,
records are `Record`s. `lift` turns wasmtime-py's parameter values into these
forms, `lower` turns results back into what wasmtime-py's component types take.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from wasmtime import StoreContext
from wasmtime import component as cm

__all__ = ["Own", "Record", "Variant", "interface_base", "lift", "lower", "resource_id", "resource_kind"]


@dataclass(frozen=True)
class Own:
    """A new host resource handed to the guest: `kind` is its resource name (e.g. "pollable")."""

    kind: str
    rep: int


@dataclass(frozen=True)
class Variant:
    """A variant (or result: tags "ok"/"err") case and its payload; components.py lowers it."""

    tag: str
    payload: Any = None


class Record:
    """A record: fields as attributes."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def interface_base(name: str) -> str:
    """`wasi:io/streams@0.2.3` -> `wasi:io/streams`."""
    return name.split("@", 1)[0]


# -- host resource types -------------------------------------------------------------------------

_RESOURCE_IDS: dict[str, int] = {}
_RESOURCE_KINDS: dict[int, str] = {}
_ids_lock = threading.Lock()


def resource_id(kind: str) -> int:
    """The host resource type id of a resource name (one id per name in this process)."""
    with _ids_lock:
        rid = _RESOURCE_IDS.get(kind)
        if rid is None:
            rid = len(_RESOURCE_IDS) + 1
            _RESOURCE_IDS[kind] = rid
            _RESOURCE_KINDS[rid] = kind
        return rid


def resource_kind(rid: int) -> str:
    """The resource name of a host resource type id ("?" for one this process never made)."""
    return _RESOURCE_KINDS.get(rid, "?")


# -- conversion ------------------------------------------------------------------------------------------


def lift(value: Any, store: StoreContext) -> Any:
    """wasmtime-py's Python value of a parameter, with host resources as their rep."""
    if isinstance(value, cm.ResourceAny):
        try:
            return value.to_host(store).rep
        finally:
            value.close()
    if isinstance(value, list):
        return [lift(v, store) for v in value]
    if isinstance(value, tuple):
        return tuple(lift(v, store) for v in value)
    if isinstance(value, cm.Variant):
        return cm.Variant(value.tag, lift(value.payload, store))
    return value


def lower(ty: Any, value: Any) -> Any:
    """Our representation of a result (component_values.py) -> what wasmtime-py's `ty` converts."""
    if isinstance(value, Own):
        return cm.ResourceHost.own(value.rep, resource_id(value.kind))
    if isinstance(ty, (cm.ResultType, cm.VariantType, cm.OptionType)):
        if isinstance(ty, cm.OptionType):
            if value is None:
                return cm.Variant("none") if ty._tagged() else None
            return cm.Variant("some", lower(ty.payload, value)) if ty._tagged() else lower(ty.payload, value)
        if not isinstance(value, (Variant, cm.Variant)):
            raise TypeError(f"expected a Variant for {type(ty).__name__}, got {value!r}")
        cases = dict(ty._cases())
        payload_ty = cases.get(value.tag)
        if value.tag not in cases:
            raise TypeError(f"no case {value.tag!r} in {list(cases)}")
        payload = None if payload_ty is None else lower(payload_ty, value.payload)
        if ty._tagged():
            return cm.Variant(value.tag, payload)
        return payload
    if isinstance(ty, cm.ListType):
        if ty._is_bytes():
            return bytes(value)
        return [lower(ty.element, v) for v in value]
    if isinstance(ty, cm.TupleType):
        return tuple(lower(t, v) for t, v in zip(ty.elements, value))
    if isinstance(ty, cm.RecordType):
        out = Record()
        for fname, fty in ty.fields:
            setattr(out, fname, lower(fty, getattr(value, fname)))
        return out
    return value
