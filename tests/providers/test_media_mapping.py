"""Images and files on every wire: the pure `to_wire` mappings, checked against the official
SDKs' request types (OpenAI, Anthropic) and the REST shapes of Gemini and Ollama."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import pytest
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionMessageParam
from pydantic import TypeAdapter

from mcp_router.core import CompletionRequest, Message, data_url
from mcp_router.errors import BadRequest
from mcp_router.providers import anthropic_wire, gemini, ollama, openai_wire
from mcp_router.providers.config import ProviderConfig
from mcp_router.providers.media import fact, refusal, takes_url
from mcp_router.sim.media import pdf, png

PNG = png(2, 3)
PDF = pdf(2)
PNG_URL = data_url("image/png", PNG)
PDF_URL = data_url("application/pdf", PDF)
B64_PNG = base64.b64encode(PNG).decode()
B64_PDF = base64.b64encode(PDF).decode()
REMOTE_PNG = "https://example.com/cat.png"
REMOTE_PDF = "https://example.com/report.pdf"


def ask(*parts: dict[str, Any], fetched: dict[str, str] | None = None) -> CompletionRequest:
    content = [{"type": "text", "text": "What is this?"}, *parts]
    return CompletionRequest(
        messages=[Message.model_validate({"role": "user", "content": content})], fetched=fetched or {}
    )


def image(url: str, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, **({"detail": detail} if detail else {})}, **extra}


def document(file_data: str, filename: str | None = "report.pdf", **extra: Any) -> dict[str, Any]:
    file = {"file_data": file_data, **({"filename": filename} if filename else {})}
    return {"type": "file", "file": file, **extra}


def validated(adapter: TypeAdapter[Any], value: Any) -> Any:
    """Validate against an SDK TypedDict, consuming the lazily validated iterables."""
    out = adapter.validate_python(value)
    content = out.get("content") if isinstance(out, dict) else None
    if content is not None and not isinstance(content, str) and isinstance(content, Iterable):
        list(content)
    return out


OPENAI_MESSAGE = TypeAdapter(ChatCompletionMessageParam)
ANTHROPIC_MESSAGE = TypeAdapter(MessageParam)


def config(name: str = "openai") -> ProviderConfig:
    return ProviderConfig(name=name, protocol="openai", base_url="http://x/v1")


# ---------------------------------------------------------------------------- OpenAI chat


def test_openai_parts_are_chat_content_parts() -> None:
    req = ask(image(PNG_URL, detail="low"), image(REMOTE_PNG), document(PDF_URL))
    body = openai_wire.to_wire(req, "gpt-4o-mini", config())
    message = body["messages"][0]
    validated(OPENAI_MESSAGE, message)
    assert message["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": REMOTE_PNG}},
        {"type": "file", "file": {"filename": "report.pdf", "file_data": PDF_URL}},
    ]


def test_openai_string_content_stays_a_string() -> None:
    body = openai_wire.to_wire(
        CompletionRequest(messages=[Message(role="user", content="hi")]), "m", config()
    )
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_openai_takes_file_data_only_inline_but_openrouter_takes_a_url() -> None:
    with pytest.raises(BadRequest, match="only as bytes"):
        openai_wire.to_wire(ask(document(REMOTE_PDF)), "gpt-4o", config())
    fetched = openai_wire.to_wire(
        ask(document(REMOTE_PDF), fetched={REMOTE_PDF: PDF_URL}), "gpt-4o", config()
    )
    assert fetched["messages"][0]["content"][1]["file"]["file_data"] == PDF_URL
    routed = openai_wire.to_wire(
        ask(document(REMOTE_PDF, filename=None)), "openai/gpt-4o", config("openrouter")
    )
    assert routed["messages"][0]["content"][1]["file"] == {
        "filename": "document.pdf",
        "file_data": REMOTE_PDF,
    }


def test_cache_control_reaches_openrouter_only() -> None:
    req = ask(
        image(
            PNG_URL,
        ),
        document(PDF_URL, cache_control={"type": "ephemeral"}),
    )
    to_openrouter = openai_wire.to_wire(req, "anthropic/claude-sonnet-4.5", config("openrouter"))
    assert to_openrouter["messages"][0]["content"][2]["cache_control"] == {"type": "ephemeral"}
    to_openai = openai_wire.to_wire(req, "gpt-4o", config())
    assert "cache_control" not in to_openai["messages"][0]["content"][2]


def test_a_local_path_never_reaches_a_wire() -> None:
    with pytest.raises(BadRequest, match="local file"):
        openai_wire.to_wire(ask(image("/tmp/cat.png")), "gpt-4o", config())


# ---------------------------------------------------------------------------- Anthropic


def test_anthropic_image_and_document_blocks_with_base64_and_url_sources() -> None:
    req = ask(
        image(PNG_URL, cache_control={"type": "ephemeral", "ttl": "1h"}),
        image(REMOTE_PNG),
        document(PDF_URL),
        document(REMOTE_PDF, filename=None),
    )
    body = anthropic_wire.to_wire(req, "claude-haiku-4-5")
    message = body["messages"][0]
    validated(ANTHROPIC_MESSAGE, message)
    assert message["content"] == [
        {"type": "text", "text": "What is this?"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": B64_PNG},
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        },
        {"type": "image", "source": {"type": "url", "url": REMOTE_PNG}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": B64_PDF},
            "title": "report.pdf",
        },
        {"type": "document", "source": {"type": "url", "url": REMOTE_PDF}},
    ]


def test_anthropic_system_parts_keep_their_cache_breakpoint() -> None:
    system = Message.model_validate(
        {
            "role": "system",
            "content": [
                {"type": "text", "text": "Long shared context", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Today's note"},
            ],
        }
    )
    body = anthropic_wire.to_wire(
        CompletionRequest(messages=[system, Message(role="user", content="q")]), "m"
    )
    assert body["system"] == [
        {"type": "text", "text": "Long shared context", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Today's note"},
    ]
    plain = anthropic_wire.to_wire(
        CompletionRequest(messages=[Message(role="system", content="s"), system]), "m"
    )
    assert isinstance(plain["system"], list)


# ---------------------------------------------------------------------------- Gemini


def test_gemini_inline_data_and_file_data_parts() -> None:
    req = ask(image(PNG_URL), image(REMOTE_PNG), document(PDF_URL), document(REMOTE_PDF))
    body = gemini.to_wire(req, "gemini-2.5-flash")
    assert body["contents"][0]["parts"] == [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": B64_PNG}},
        {"fileData": {"mimeType": "image/png", "fileUri": REMOTE_PNG}},
        {"inlineData": {"mimeType": "application/pdf", "data": B64_PDF}},
        {"fileData": {"mimeType": "application/pdf", "fileUri": REMOTE_PDF}},
    ]


def test_gemini_takes_urls_it_can_type_and_only_from_the_2_5_family_on() -> None:
    no_type = "https://example.com/render?id=7"
    with pytest.raises(BadRequest, match="only as bytes"):
        gemini.to_wire(ask(image(no_type)), "gemini-2.5-flash")
    with pytest.raises(BadRequest, match="only as bytes"):
        gemini.to_wire(ask(image(REMOTE_PNG)), "gemini-2.0-flash")
    body = gemini.to_wire(ask(image(REMOTE_PNG), fetched={REMOTE_PNG: PNG_URL}), "gemini-2.0-flash")
    assert body["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": B64_PNG}}


# ---------------------------------------------------------------------------- Ollama


def test_ollama_images_are_base64_strings_beside_the_text() -> None:
    body = ollama.to_wire(ask(image(PNG_URL), image(REMOTE_PNG), fetched={REMOTE_PNG: PNG_URL}), "llava")
    assert body["messages"] == [{"role": "user", "content": "What is this?", "images": [B64_PNG, B64_PNG]}]
    plain = ollama.to_wire(CompletionRequest(messages=[Message(role="user", content="hi")]), "llava")
    assert plain["messages"] == [{"role": "user", "content": "hi"}]


def test_ollama_refuses_urls_it_was_not_given_bytes_for_and_documents() -> None:
    with pytest.raises(BadRequest, match="fetch_remote"):
        ollama.to_wire(ask(image(REMOTE_PNG)), "llava")
    with pytest.raises(BadRequest, match="no documents"):
        ollama.to_wire(ask(document(PDF_URL)), "llava")


# ---------------------------------------------------------------------------- what each wire takes


def part(raw: dict[str, Any]) -> Any:
    return Message.model_validate({"role": "user", "content": [raw]}).media[0]


def test_url_acceptance_by_wire() -> None:
    img, doc = fact(part(image(REMOTE_PNG))), fact(part(document(REMOTE_PDF)))
    assert takes_url("anthropic", "anthropic", "claude-haiku-4-5", doc)
    assert takes_url("openai", "openai", "gpt-4o", img) and not takes_url("openai", "openai", "gpt-4o", doc)
    assert takes_url("openai", "openrouter", "openai/gpt-4o", doc)
    assert takes_url("gemini", "gemini", "gemini-2.5-pro", img)
    assert not takes_url("gemini", "gemini", "models/gemini-2.0-flash", img)
    assert not takes_url("ollama", "ollama", "llava", img)


def test_refusals_by_type_and_size() -> None:
    gif = fact(part(image(data_url("image/gif", b"GIF89a" + b"\0" * 10))))
    assert refusal("gemini", gif) == "gemini does not take image/gif images"
    assert refusal("anthropic", gif) is None
    big = fact(part(image(data_url("image/png", b"\0" * (6 * 1024 * 1024)))))
    assert refusal("anthropic", big) is not None and "5 MB" in str(refusal("anthropic", big))
    assert refusal("openai", big) is None
    assert refusal("ollama", fact(part(document(PDF_URL)))) == "ollama takes no documents (images only)"
    zipped = fact(part(document(data_url("application/zip", b"PK"))))
    assert refusal("anthropic", zipped) == "anthropic takes PDF documents, not application/zip"
    text = fact(part(document(data_url("text/csv", b"a,b"))))
    assert text.kind == "text" and refusal("ollama", text) is None  # read into the prompt
