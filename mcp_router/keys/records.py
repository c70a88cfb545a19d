"""An issued key as stored: its name (= its metering client), its limits, and the hash of its
secret. The secret itself (`sk-mr-` + 43 URL-safe characters: 256 random bits) is shown once
by `keys create` and stored nowhere; the database keeps `sha256(secret)`, which is enough for a
secret of that entropy (no stretching needed: guessing it is hopeless either way)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from decimal import Decimal
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field

from mcp_router.errors import RouterError, clip
from mcp_router.metering.budgets import BudgetLimit

KIND = "key"  # the documents' kind
SECRET_PREFIX = "sk-mr-"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
RESERVED_NAMES = frozenset({"default", "http", "*"})
"""The server's own clients (stdio's `default`, tokenless HTTP's `http`) and the budgets'
wildcard: a key named so would share their ledger and limits."""


class KeyProblem(RouterError):
    """A key command cannot be done as asked; the message says what to change."""


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """What the database keeps of a secret (its unique `lookup`)."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def check_name(name: str, reserved: frozenset[str] = frozenset()) -> str:
    """`name` when it can name a key; KeyProblem saying what to change otherwise."""
    if not _NAME.fullmatch(name):
        raise KeyProblem(
            f"key name {clip(name)!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit (it becomes the key's metering client)."
        )
    if name in RESERVED_NAMES or name in reserved:
        raise KeyProblem(
            f"key name {name!r} is already a client of this server (its own, or a configured "
            "token's): choose another name, so the key's usage and limits stay its own."
        )
    return name


class KeyLimits(BaseModel):
    """What a key may do. None: no limit of that kind; `models` empty: every model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    daily_usd: Decimal | None = Field(default=None, ge=0)
    monthly_usd: Decimal | None = Field(default=None, ge=0)
    rpm: int | None = Field(default=None, ge=1)
    models: tuple[str, ...] = ()  # fnmatch patterns over model ids, e.g. "openai/*"
    admin: bool = False

    @property
    def budget(self) -> BudgetLimit | None:
        """The key's caps as a budget (they join the configured budgets: the lower wins)."""
        if self.daily_usd is None and self.monthly_usd is None:
            return None
        return BudgetLimit(daily_usd=self.daily_usd, monthly_usd=self.monthly_usd)

    def allows(self, model_id: str) -> bool:
        return not self.models or any(fnmatchcase(model_id, p) for p in self.models)


class KeyRecord(KeyLimits):
    """A key as `keys list` shows it (never its secret nor its hash)."""

    name: str
    created: datetime
    revoked: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None

    def public(self) -> dict[str, object]:
        """As JSON for people and scripts: USD as numbers, times ISO-8601 UTC."""
        out: dict[str, object] = self.model_dump(mode="json")
        for field in ("daily_usd", "monthly_usd"):
            value = getattr(self, field)
            out[field] = None if value is None else float(value)
        return out


__all__ = [
    "KIND",
    "SECRET_PREFIX",
    "KeyLimits",
    "KeyProblem",
    "KeyRecord",
    "check_name",
    "new_secret",
    "secret_hash",
]
