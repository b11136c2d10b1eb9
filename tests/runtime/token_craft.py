"""Make replay tokens with any field values: what a damaged or hand-edited token can hold."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from pytest_wasmconc.runtime.token import TOKEN_PREFIX

_DROP = object()


def doc_of(token: str) -> dict[str, Any]:
    body = token[len(TOKEN_PREFIX):]
    doc: dict[str, Any] = json.loads(zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    return doc


def token_of(doc: Any, prefix: str = TOKEN_PREFIX) -> str:
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return prefix + base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


def crafted(token: str, **fields: Any) -> str:
    """`token` with its JSON fields replaced (a value of DROP removes the field)."""
    doc = doc_of(token)
    for key, value in fields.items():
        if value is DROP:
            doc.pop(key, None)
        else:
            doc[key] = value
    return token_of(doc)


DROP = _DROP
