"""Keys in the usage database (documents of kind `key`: id = the name, lookup = the secret's
hash, body = the limits), with a short in-process cache.

Every verified request and every routed call asks for its client's key; the cache answers for
`CACHE_S` seconds (absent keys too) so that costs one database read per client per few
seconds. A revocation therefore takes effect within `CACHE_S` in every other process sharing
the database, and at once in the process that revoked (README "Keys")."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime

from mcp_router.errors import clip
from mcp_router.keys.records import (
    KIND,
    SECRET_PREFIX,
    KeyLimits,
    KeyProblem,
    KeyRecord,
    check_name,
    new_secret,
    secret_hash,
)
from mcp_router.metering.documents import Document, DocumentStore

CACHE_S = 5.0
MAX_KEYS = 10_000  # what `keys list` reads at most
_MAX_CACHED = 10_000  # secrets remembered (unknown ones too): random guesses cannot grow it past this


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class KeyBook:
    """Create, list, revoke and look up keys through a `DocumentStore`."""

    def __init__(
        self,
        store: DocumentStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        cache_s: float = CACHE_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self._cache_s = cache_s
        self._monotonic = monotonic
        self._by_name: dict[str, tuple[float, KeyRecord | None]] = {}
        self._by_hash: dict[str, tuple[float, str | None]] = {}

    def _now_ms(self) -> int:
        return _ms(self._clock())

    async def create(
        self, name: str, limits: KeyLimits, *, reserved: frozenset[str] = frozenset()
    ) -> tuple[KeyRecord, str]:
        """A new key and its secret (shown once: only its hash is stored). KeyProblem when the
        name is taken (by a key, revoked or not, or by one of `reserved`) or malformed. (Two
        creates of one name racing: exactly one succeeds.)"""
        check_name(name, reserved)
        if await self._store.get_document(KIND, name, now_ms=self._now_ms()) is not None:
            raise KeyProblem(
                f"a key named {name!r} exists already (`mcp-router keys list`): choose another name; "
                "a revoked key keeps its name so its usage stays its own."
            )
        now = self._clock()
        record = KeyRecord(name=name, created=now.astimezone(UTC), **limits.model_dump())
        secret = new_secret()
        if not await self._store.insert_document(self._document(record, secret_hash(secret))):
            raise KeyProblem(f"a key named {name!r} was created at the same moment: choose another name.")
        self._forget(name)
        return record, secret

    def _document(self, record: KeyRecord, lookup: str | None, created_ms: int | None = None) -> Document:
        now_ms = self._now_ms()
        return Document(
            kind=KIND,
            id=record.name,
            client=record.name,
            body=record.model_dump_json(),
            created_ms=now_ms if created_ms is None else created_ms,
            updated_ms=now_ms,
            lookup=lookup,
        )

    async def list(self) -> list[KeyRecord]:
        """Every key, revoked ones included, by name."""
        docs = await self._store.list_documents(KIND, now_ms=self._now_ms(), limit=MAX_KEYS)
        return sorted((KeyRecord.model_validate_json(d.body) for d in docs), key=lambda k: k.name)

    async def any_active(self) -> bool:
        return any(k.active for k in await self.list())

    async def revoke(self, name: str) -> KeyRecord:
        """Revoke `name` (its requests are refused from now on); KeyProblem when unknown."""
        doc = await self._store.get_document(KIND, name, now_ms=self._now_ms())
        if doc is None:
            names = [k.name for k in await self.list()]
            known = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "") if names else "none yet"
            raise KeyProblem(
                f"no key named {clip(name)!r} (keys: {known}); `mcp-router keys list` shows them."
            )
        record = KeyRecord.model_validate_json(doc.body)
        if record.revoked is None:
            record = record.model_copy(update={"revoked": self._clock().astimezone(UTC)})
            await self._store.put_document(self._document(record, doc.lookup, doc.created_ms))
        self._forget(name)
        return record

    def _forget(self, name: str) -> None:
        self._by_name.pop(name, None)
        self._by_hash = {h: v for h, v in self._by_hash.items() if v[1] != name}

    async def by_name(self, name: str) -> KeyRecord | None:
        """The key named `name` (revoked or not), or None: from the cache when fresh."""
        now = self._monotonic()
        hit = self._by_name.get(name)
        if hit is not None and hit[0] > now:
            return hit[1]
        doc = await self._store.get_document(KIND, name, now_ms=self._now_ms())
        record = None if doc is None else KeyRecord.model_validate_json(doc.body)
        self._by_name[name] = (now + self._cache_s, record)
        return record

    async def verify(self, secret: str) -> KeyRecord | None:
        """The active key whose secret this is, else None (unknown or revoked)."""
        if not secret.startswith(SECRET_PREFIX):
            return None
        digest = secret_hash(secret)
        now = self._monotonic()
        hit = self._by_hash.get(digest)
        if hit is None or hit[0] <= now:
            doc = await self._store.find_document(KIND, digest, now_ms=self._now_ms())
            # The database found it by its index; the final equality is checked in constant time.
            name = doc.id if doc is not None and hmac.compare_digest(doc.lookup or "", digest) else None
            hit = (now + self._cache_s, name)
            if len(self._by_hash) >= _MAX_CACHED:
                self._by_hash.clear()
            self._by_hash[digest] = hit
        if hit[1] is None:
            return None
        record = await self.by_name(hit[1])
        return record if record is not None and record.active else None


__all__ = ["CACHE_S", "KeyBook"]
