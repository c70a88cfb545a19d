"""The adapter protocol every wire-protocol adapter implements.

An adapter owns one provider config and borrows the one shared `httpx2.AsyncClient`.
Mapping is pure (`to_wire`, `from_wire` functions in each protocol module); I/O is in the
adapter's methods. Every failure leaves an adapter as a `mcp_router.errors.ProviderError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from mcp_router.core import Completion, CompletionRequest, RemoteModel, StreamEvent
from mcp_router.providers.config import ProviderConfig


class Adapter(Protocol):
    config: ProviderConfig

    @property
    def name(self) -> str: ...

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        """One non-streamed call to `model` (provider-native name)."""
        ...

    def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        """Text deltas, then exactly one StreamEnd; raises ProviderError on any failure,
        including a stream that breaks after it started."""
        ...

    async def list_models(self) -> list[RemoteModel]:
        """The provider's live model list."""
        ...
