"""Image and document input tokens by each provider's published rule (catalog/tokens.py)."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_router.catalog.tokens import (
    anthropic_image_tokens,
    estimate_messages,
    gemini_image_tokens,
    media_tokens,
    openai_image_tokens,
)
from mcp_router.core import Message, data_url
from mcp_router.sim.media import pdf, png


@pytest.mark.parametrize(
    ("size", "detail", "tokens"),
    [
        ((1024, 1024), "high", 765),
        ((2048, 4096), "high", 1105),
        ((4096, 8192), "low", 85),
        ((512, 512), None, 255),
    ],
)
def test_openai_tile_rule_matches_its_published_examples(
    size: tuple[int, int], detail: str, tokens: int
) -> None:
    assert openai_image_tokens(*size, detail) == tokens


def test_openai_mini_multipliers() -> None:
    assert openai_image_tokens(1024, 1024, "high", "gpt-4o-mini") == 2833 + 4 * 5667
    assert openai_image_tokens(1024, 1024, "low", "gpt-4o-mini-2024-07-18") == 2833


def test_anthropic_and_gemini_rules() -> None:
    assert anthropic_image_tokens(200, 200) == 54
    assert anthropic_image_tokens(1000, 1000) == 1334
    assert anthropic_image_tokens(1092, 1092) == 1590  # its largest unresized square
    assert anthropic_image_tokens(3000, 3000) == 1600 and anthropic_image_tokens(784, 1568) == 1600
    assert gemini_image_tokens(384, 384) == 258
    assert gemini_image_tokens(1000, 1000) == 4 * 258


def msg(*parts: dict[str, Any]) -> Message:
    return Message.model_validate({"role": "user", "content": [{"type": "text", "text": "look"}, *parts]})


def test_parts_are_counted_by_the_wire_and_by_the_largest_rule_without_one() -> None:
    image = {"type": "image_url", "image_url": {"url": data_url("image/png", png(1000, 1000))}}
    with_image = msg(image)
    text_only = estimate_messages([msg()])
    assert estimate_messages([with_image], "anthropic") - text_only == 1334
    assert estimate_messages([with_image], "gemini") - text_only == 1032
    assert estimate_messages([with_image], "openai") - text_only == 765
    assert estimate_messages([with_image], "ollama") - text_only == 576
    assert estimate_messages([with_image]) - text_only == 1334  # the largest
    remote = {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}
    assert media_tokens(msg(remote).media[0], "openai") == 765  # unknown size: 1024x1024


def test_pdf_pages() -> None:
    part = msg({"type": "file", "file": {"file_data": data_url("application/pdf", pdf(3))}}).media[0]
    assert media_tokens(part, "gemini") == 3 * 258
    assert media_tokens(part, "anthropic") == 3 * 3000
    text = msg({"type": "file", "file": {"file_data": data_url("text/plain", b"x" * 400)}}).media[0]
    assert media_tokens(text, "openai") == 100
