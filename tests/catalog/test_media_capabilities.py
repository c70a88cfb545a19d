"""The `vision` and `pdf` capabilities: where they come from and how list_models filters on them."""

from __future__ import annotations

import pytest

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.litellm import capabilities
from mcp_router.catalog.models import CAPABILITIES
from mcp_router.catalog.query import query_models
from mcp_router.providers.anthropic_wire import _capabilities as anthropic_capabilities
from mcp_router.providers.ollama import capabilities_from_show


def test_vocabulary_and_sources() -> None:
    assert {"vision", "pdf"} <= set(CAPABILITIES)
    assert capabilities({"supports_vision": True, "supports_pdf_input": True}, "openai") == {"vision", "pdf"}
    raw = {"image_input": {"supported": True}, "pdf_input": {"supported": True}}
    assert {"vision", "pdf"} <= anthropic_capabilities(raw)
    assert capabilities_from_show({"capabilities": ["completion", "vision"]}) == {"vision"}
    assert capabilities_from_show({"capabilities": ["completion"]}) == frozenset()


def test_list_models_filters_on_pdf_and_vision() -> None:
    catalog = Catalog.load_bundled()
    models, total = query_models(catalog, capabilities=["pdf"], limit=500)
    ids = {m.id for m in models}
    assert total == len(models) > 10
    assert {"anthropic/claude-haiku-4.5", "openai/gpt-4o-mini", "google/gemini-2.5-flash"} <= ids
    assert "deepseek/deepseek-chat" not in ids
    seeing, _ = query_models(catalog, capabilities=["vision", "pdf"], limit=500)
    assert all({"vision", "pdf"} <= m.capabilities for m in seeing)
    with pytest.raises(ValueError, match=r"known: .*vision, pdf"):
        query_models(catalog, capabilities=["smell"])
