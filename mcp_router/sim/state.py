"""The simulator's data: served models, their profiles, scripted faults, hit counters.

Shared between the caller's thread and the serving loop (`Simulator.in_thread`), hence the lock.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "status",
    "context_too_long",
    "hang",
    "reset",
    "cut_stream",
    "stall",
    "malformed_json",
    "missing_fields",
    "stream_error_event",
    "empty",
    "unknown_finish_reason",
    "content_filter",
]


@dataclass(frozen=True)
class ModelProfile:
    """How a simulated model behaves. Times in milliseconds; `tokens_per_s` paces chunks."""

    latency_ms: float = 0
    ttft_ms: float = 0
    tokens_per_s: float | None = None
    reasoning_tokens: int = 0  # hidden reasoning tokens reported in usage (o-series, thinking models)
    reply: str | None = None  # fixed reply text instead of the deterministic sentence


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour. Build with the constructors, e.g. `Fault.status(429, retry_after=1)`."""

    kind: FaultKind
    code: int = 0
    retry_after: float | None = None
    retry_after_http_date: bool = False
    message: str | None = None
    after_chunks: int = 0

    @classmethod
    def status(
        cls,
        code: int,
        *,
        retry_after: float | None = None,
        retry_after_http_date: bool = False,
        message: str | None = None,
    ) -> Fault:
        """HTTP `code` with the provider's real error body; `Retry-After` in seconds or as a date."""
        return cls("status", code, retry_after, retry_after_http_date, message)

    @classmethod
    def context_too_long(cls) -> Fault:
        return cls("context_too_long", 400)

    @classmethod
    def hang(cls) -> Fault:
        return cls("hang")

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    @classmethod
    def cut_stream(cls, after_chunks: int) -> Fault:
        return cls("cut_stream", after_chunks=after_chunks)

    @classmethod
    def stall(cls, after_chunks: int) -> Fault:
        """Stream `after_chunks` text chunks, then go silent with the connection open (a
        provider stuck mid-answer); a non-streamed request just never gets its body."""
        return cls("stall", after_chunks=after_chunks)

    @classmethod
    def malformed_json(cls) -> Fault:
        return cls("malformed_json")

    @classmethod
    def missing_fields(cls) -> Fault:
        return cls("missing_fields")

    @classmethod
    def stream_error_event(cls) -> Fault:
        return cls("stream_error_event")

    @classmethod
    def empty(cls) -> Fault:
        return cls("empty")

    @classmethod
    def unknown_finish_reason(cls) -> Fault:
        return cls("unknown_finish_reason")

    @classmethod
    def content_filter(cls) -> Fault:
        """A normal 200 whose finish is the provider's content-filter reason (SAFETY, refusal...)."""
        return cls("content_filter")


@dataclass(frozen=True)
class SimRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any] | None
    query: dict[str, str]


@dataclass
class ServedModel:
    provider: str
    name: str
    profile: ModelProfile
    listing: dict[str, Any]
    # Other names the provider answers to for it: Anthropic's undated aliases of its dated ids,
    # Mistral's `-latest` pointers, OpenAI's dated snapshots, xAI's `grok-4` for `grok-4-0709`.
    aliases: tuple[str, ...] = ()


@dataclass(eq=False)  # identity: two waiters for the same count are still two waiters
class HitWaiter:
    """Someone waiting for `n` hits on `key`; `wake` is called (once, outside the lock) when reached."""

    key: tuple[str, str]
    n: int
    wake: Callable[[], None]


@dataclass
class SimState:
    models: dict[str, dict[str, ServedModel]] = field(default_factory=dict)
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)  # provider -> alias -> name
    scripts: dict[tuple[str, str], deque[Fault]] = field(default_factory=dict)
    always: dict[tuple[str, str], Fault] = field(default_factory=dict)
    hits: Counter[tuple[str, str]] = field(default_factory=Counter)
    requests: dict[tuple[str, str], list[SimRequest]] = field(default_factory=dict)
    cache_prefixes: set[str] = field(default_factory=set)
    # Chat requests being served right now, and the most ever at once (concurrency limits).
    in_flight: int = 0
    max_in_flight: int = 0
    hit_waiters: list[HitWaiter] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, model: ServedModel) -> None:
        with self.lock:
            self._drop(model.provider, model.name)
            self.models.setdefault(model.provider, {})[model.name] = model
            names = self.aliases.setdefault(model.provider, {})
            names.update(dict.fromkeys(model.aliases, model.name))

    def remove(self, provider: str, name: str) -> None:
        with self.lock:
            self._drop(provider, self._resolve(provider, name))

    def _drop(self, provider: str, name: str) -> None:
        self.models.get(provider, {}).pop(name, None)
        names = self.aliases.get(provider, {})
        for alias in [a for a, target in names.items() if target == name]:
            del names[alias]

    def _resolve(self, provider: str, name: str) -> str:
        return self.aliases.get(provider, {}).get(name, name)

    def resolve(self, provider: str, name: str) -> str:
        """The served name `name` stands for (itself unless it is an alias)."""
        with self.lock:
            return self._resolve(provider, name)

    def get(self, provider: str, name: str) -> ServedModel | None:
        """The model served under `name` or one of its aliases."""
        with self.lock:
            return self.models.get(provider, {}).get(self._resolve(provider, name))

    def listing(self, provider: str) -> list[ServedModel]:
        with self.lock:
            return list(self.models.get(provider, {}).values())

    def record(self, provider: str, name: str, request: SimRequest) -> None:
        """Count a chat hit (under the served name, whichever alias was asked) and keep the request."""
        with self.lock:
            key = (provider, self._resolve(provider, name))
            self.hits[key] += 1
            self.requests.setdefault(key, []).append(request)
            count = self.hits[key]
            ready = [w for w in self.hit_waiters if w.key == key and w.n <= count]
            for waiter in ready:
                self.hit_waiters.remove(waiter)
        # Woken outside the lock: a wake-up may run arbitrary scheduling code.
        for waiter in ready:
            waiter.wake()

    def add_hit_waiter(self, waiter: HitWaiter) -> bool:
        """Register `waiter`; False (not registered) if its count is already reached."""
        with self.lock:
            if self.hits[waiter.key] >= waiter.n:
                return False
            self.hit_waiters.append(waiter)
            return True

    def drop_hit_waiter(self, waiter: HitWaiter) -> None:
        """Forget `waiter` (a cancelled wait); a no-op once it has been woken."""
        with self.lock:
            if waiter in self.hit_waiters:
                self.hit_waiters.remove(waiter)

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def take_fault(self, provider: str, name: str) -> Fault | None:
        """The fault this (valid) request draws: the next scripted one, else the standing one."""
        key = (provider, name)
        with self.lock:
            queue = self.scripts.get(key)
            if queue:
                return queue.popleft()
            return self.always.get(key)

    def seen_prefix(self, digest: str) -> bool:
        """Whether a cacheable prompt prefix was seen before; remembers it either way."""
        with self.lock:
            seen = digest in self.cache_prefixes
            self.cache_prefixes.add(digest)
            return seen

    def clear(self) -> None:
        with self.lock:
            self.scripts.clear()
            self.always.clear()
            self.hits.clear()
            self.requests.clear()
            self.cache_prefixes.clear()
            self.max_in_flight = self.in_flight
