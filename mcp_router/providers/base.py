"""The adapter protocol every wire-protocol adapter implements.

An adapter owns one provider config and borrows the one shared `httpx2.AsyncClient`.
Mapping is pure (`to_wire`, `from_wire` functions in each protocol module); I/O is in the
adapter's methods. Every failure leaves an adapter as a `mcp_router.errors.ProviderError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from mcp_router.core import Completion, CompletionRequest, StreamEvent
from mcp_router.providers.config import ProviderConfig


class RemoteModel(BaseModel):
    """One entry of a provider's live model list, mapped to common fields.
    Prices are USD per token; None means the provider did not say."""

    model_config = ConfigDict(frozen=True)

    provider: str
    native_id: str
    name: str | None = None
    context_length: int | None = None
    max_output_tokens: int | None = None
    input_price: Decimal | None = None
    output_price: Decimal | None = None
    cache_read_price: Decimal | None = None
    cache_write_price: Decimal | None = None
    capabilities: frozenset[str] = frozenset()
    # Whether the list itself says the model answers chat calls (OpenRouter's output
    # modalities, Together's `type`); None when it does not say (OpenAI, Mistral, Groq,
    # Ollama...), and the catalog judges by the name.
    chat: bool | None = None


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
