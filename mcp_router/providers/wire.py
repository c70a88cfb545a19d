"""Defensive reading of provider JSON: every shape problem becomes `MalformedResponse`.

Mapping functions read provider bodies through a `Wire` so that a missing field, a wrong
type or a body that is not JSON at all surfaces as one typed error naming the provider and
the HTTP status — never as a `KeyError` or `TypeError` from deep inside a mapping.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from mcp_router.errors import MalformedResponse


class Wire:
    """Typed accessors over decoded JSON for one provider response."""

    def __init__(self, provider: str, status: int | None = 200, model: str | None = None) -> None:
        self.provider = provider
        self.status = status
        self.model = model

    def fail(self, what: str, body: Any = None) -> NoReturn:
        raise MalformedResponse(self.provider, what, status=self.status, model=self.model, body=body)

    def parse(self, raw: bytes | str) -> Any:
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            # RecursionError: a body nested deeper than the parser's stack is garbage too.
            snippet = raw[:80].decode("utf-8", "replace") if isinstance(raw, bytes) else raw[:80]
            raise MalformedResponse(
                self.provider,
                f"response body is not JSON: {snippet!r}",
                status=self.status,
                model=self.model,
            ) from exc

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(f"expected an object at {where}, got {_kind(value)}")
        return value

    def arr(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(f"expected an array at {where}, got {_kind(value)}")
        return value

    def field(self, parent: dict[str, Any], key: str, where: str) -> Any:
        if key not in parent or parent[key] is None:
            self.fail(f"missing field {where}.{key}")
        return parent[key]

    def str_(self, parent: dict[str, Any], key: str, where: str) -> str:
        value = self.field(parent, key, where)
        if not isinstance(value, str):
            self.fail(f"expected a string at {where}.{key}, got {_kind(value)}")
        return value

    def opt_str(self, parent: dict[str, Any], key: str, where: str) -> str | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(f"expected a string at {where}.{key}, got {_kind(value)}")
        return value

    def int_(self, parent: dict[str, Any], key: str, where: str) -> int:
        return _check_int(self, self.field(parent, key, where), f"{where}.{key}")

    def opt_int(self, parent: Any, key: str, where: str, default: int = 0) -> int:
        """An optional non-negative count; absent or null gives `default`."""
        if not isinstance(parent, dict):
            return default
        value = parent.get(key)
        if value is None:
            return default
        return _check_int(self, value, f"{where}.{key}")


def positive_int(value: Any) -> int | None:
    """A positive integer from a model listing (token limits), or None for anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _check_int(wire: Wire, value: Any, where: str) -> int:
    # bool is an int subclass; a `true` token count is a malformed body, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        wire.fail(f"expected a non-negative integer at {where}, got {value!r}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__
