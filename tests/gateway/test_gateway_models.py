"""`GET /v1/models` in OpenRouter's shape (per-token prices as exact decimal strings), read by the
official `openai` SDK as an OpenAI model list too; and the pure price formatting."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx2
import openai
import pytest
from gateway_serve import Served
from openai import OpenAI

from mcp_router.catalog.catalog import Catalog
from mcp_router.gateway.models import decimal_string, models_list


def test_models_list_has_openrouter_fields_and_string_prices(served: Served) -> None:
    listing = httpx2.get(f"{served.v1}/models").json()
    assert listing["object"] == "list"
    by_id = {m["id"]: m for m in listing["data"]}
    mini = by_id["openai/gpt-4o-mini"]
    assert mini["object"] == "model" and mini["owned_by"] == "openai" and mini["name"]
    assert mini["pricing"]["prompt"] == "0.00000015" and mini["pricing"]["completion"] == "0.0000006"
    assert mini["context_length"] == 128000 and mini["top_provider"]["context_length"] == 128000
    assert "image" in mini["architecture"]["input_modalities"]
    assert {"tools", "tool_choice", "max_tokens"} <= set(mini["supported_parameters"])
    assert isinstance(mini["created"], int)
    for model in listing["data"]:
        for price in model["pricing"].values():
            assert price is None or (
                isinstance(price, str) and "e" not in price.lower() and Decimal(price) >= 0
            )


def test_the_openai_sdk_lists_and_retrieves_models(served: Served) -> None:
    api = OpenAI(base_url=served.v1, api_key="unused", max_retries=0)
    ids = [m.id for m in api.models.list()]
    assert "anthropic/claude-haiku-4.5" in ids and ids == sorted(ids)
    one = api.models.retrieve("openai/gpt-4o-mini")
    assert one.id == "openai/gpt-4o-mini" and one.owned_by == "openai"
    with pytest.raises(openai.NotFoundError):
        api.models.retrieve("nobody/nothing")


def test_the_openrouter_base_url_works_too(served: Served) -> None:
    listing: Any = httpx2.get(f"{served.url}/api/v1/models").json()
    assert any(m["id"] == "openai/gpt-4o-mini" for m in listing["data"])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1.5E-7"), "0.00000015"),
        (Decimal("0.60") / Decimal(1_000_000), "0.0000006"),
        (Decimal("3"), "3"),
        (Decimal("0E-9"), "0"),
        (None, None),
    ],
)
def test_decimal_strings_are_plain_and_exact(value: Decimal | None, text: str | None) -> None:
    assert decimal_string(value) == text


def test_only_models_an_available_provider_serves_are_listed() -> None:
    from datetime import UTC, datetime

    catalog = Catalog.load_bundled()
    listing = models_list(catalog, frozenset({"anthropic"}), {}, datetime.now(UTC))
    assert listing["data"] and all(m["provider"] == "anthropic" for m in listing["data"])
