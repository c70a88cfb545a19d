"""Exact o200k token counts (quicktok bundles the encoding and works offline)."""

from __future__ import annotations

import json
from typing import Any

import quicktok

_O200K = quicktok.get_encoding("o200k_base")


def o200k(text: str) -> int:
    return len(_O200K.encode(text))


def as_sent(result: Any, request_id: int = 1) -> str:
    """A result as the server sends it: one compact JSON-RPC response."""
    body = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": body}, separators=(",", ":"))
