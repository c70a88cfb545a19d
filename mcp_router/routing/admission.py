"""What a client may do, as the router sees it: its model allowlist and caps, and the gate that
admits each of its requests (counting its rate). Implemented by `keys.gate.KeyGate` for issued
keys; a client that is not a key has no admission (no limits beyond the configured budgets)."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any, Protocol


class Admission(Protocol):
    @property
    def models(self) -> tuple[str, ...]: ...  # fnmatch patterns over model ids; empty: any

    @property
    def budget(self) -> Any: ...  # a metering BudgetLimit, or None


class Admissions(Protocol):
    async def policy(self, client: str) -> Admission | None:
        """`client`'s limits, without counting a request."""
        ...

    async def admit(self, client: str) -> Admission | None:
        """`client`'s limits, counting one request (raises ClientRateLimited over its rate)."""
        ...


def allowlist_reason(model_id: str, patterns: Sequence[str] | None) -> str | None:
    """Why `model_id` is outside the allowlist, or None when it is inside (or there is none)."""
    if not patterns or any(fnmatchcase(model_id, p) for p in patterns):
        return None
    return f"model not in this client's allowlist ({', '.join(patterns)})"


__all__ = ["Admission", "Admissions", "allowlist_reason"]
