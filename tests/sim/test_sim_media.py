"""The simulator takes images and documents as each real API does: the official OpenAI and
Anthropic SDKs build requests it accepts; bad parts get the real error shapes; usage counts the
parts by each provider's rule; the reply says what it saw."""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from mcp_router.sim import Simulator
from mcp_router.sim.media import pdf, png

PNG = png(2, 3)
PDF = pdf(2)
B64_PNG = base64.b64encode(PNG).decode()
B64_PDF = base64.b64encode(PDF).decode()
PNG_URL = f"data:image/png;base64,{B64_PNG}"
PDF_URL = f"data:application/pdf;base64,{B64_PDF}"


def openai_ask(*parts: dict[str, Any]) -> list[Any]:
    return [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, *parts]}]


# ---------------------------------------------------------------------------- OpenAI SDK


def test_openai_sdk_sends_images_and_files_the_simulator_accepts() -> None:
    with Simulator().in_thread() as sim:
        client = openai.OpenAI(base_url=sim.url("openai"), api_key=sim.key("openai"), max_retries=0)
        plain = client.chat.completions.create(model="gpt-4o", messages=openai_ask())
        reply = client.chat.completions.create(
            model="gpt-4o",
            messages=openai_ask(
                {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                {"type": "file", "file": {"filename": "r.pdf", "file_data": PDF_URL}},
            ),
        )
        text = reply.choices[0].message.content or ""
        assert "[saw image/png 2x3; image/* url; application/pdf 2p]" in text
        assert reply.usage is not None and plain.usage is not None
        # low detail 85 + an unknown-size URL as 512x512 (255) + 2 pages of 1,500
        assert reply.usage.prompt_tokens - plain.usage.prompt_tokens == 85 + 255 + 3000
        sent = sim.requests("openai", "gpt-4o")[-1].body
        assert sent is not None and sent["messages"][0]["content"][1]["image_url"]["detail"] == "low"


@pytest.mark.parametrize(
    ("part", "code", "says"),
    [
        (
            {"type": "image_url", "image_url": {"url": "cat.png"}},
            "invalid_value",
            "but got a value without the 'data:' prefix",
        ),
        (
            {"type": "image_url", "image_url": {"url": PDF_URL}},
            "invalid_value",
            "but got unsupported MIME type 'application/pdf'",
        ),
        (
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64," + base64.b64encode(b"hi").decode()},
            },
            "invalid_image_format",
            "of one the following formats: ['png', 'jpeg', 'gif', 'webp']",
        ),
        (
            {"type": "file", "file": {"file_data": PDF_URL}},
            "missing_required_parameter",
            "'messages[0].content[1].file.filename'",
        ),
    ],
)
def test_openai_refuses_bad_parts_with_its_error_shape(part: dict[str, Any], code: str, says: str) -> None:
    with Simulator().in_thread() as sim:
        client = openai.OpenAI(base_url=sim.url("openai"), api_key=sim.key("openai"), max_retries=0)
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model="gpt-4o", messages=openai_ask(part))
        assert refused.value.code == code and says in refused.value.message
        assert refused.value.body is not None and refused.value.type == "invalid_request_error"


def test_openai_models_without_vision_refuse_images() -> None:
    with Simulator().in_thread() as sim:
        client = openai.OpenAI(base_url=sim.url("openai"), api_key=sim.key("openai"), max_retries=0)
        with pytest.raises(openai.BadRequestError, match="image_url is only supported by certain models"):
            client.chat.completions.create(
                model="o3-mini", messages=openai_ask({"type": "image_url", "image_url": {"url": PNG_URL}})
            )


@pytest.mark.anyio
async def test_openrouter_takes_a_pdf_by_url_and_lists_modalities() -> None:
    async with Simulator().running() as sim:
        client = openai.AsyncOpenAI(
            base_url=sim.url("openrouter"), api_key=sim.key("openrouter"), max_retries=0
        )
        reply = await client.chat.completions.create(
            model="anthropic/claude-haiku-4.5",
            messages=openai_ask({"type": "file", "file": {"file_data": "https://example.com/r.pdf"}}),
        )
        assert "[saw application/pdf 1p url]" in (reply.choices[0].message.content or "")
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(
                model="deepseek/deepseek-chat",
                messages=openai_ask({"type": "image_url", "image_url": {"url": PNG_URL}}),
            )
        assert refused.value.body == {
            "code": 400,
            "message": "Invalid content type. image_url is only supported by certain models.",
        }
        listing = (await client.models.list()).model_dump()["data"]
        haiku = next(m for m in listing if m["id"] == "anthropic/claude-haiku-4.5")
        assert haiku["architecture"]["input_modalities"] == ["text", "image", "file"]
        await client.close()


# ---------------------------------------------------------------------------- Anthropic SDK


def test_anthropic_sdk_sends_image_and_document_blocks_the_simulator_accepts() -> None:
    with Simulator().in_thread() as sim:
        client = anthropic.Anthropic(
            base_url=sim.url("anthropic"), api_key=sim.key("anthropic"), max_retries=0
        )
        plain = client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "q"}]
        )
        message = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=50,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "q"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": B64_PNG},
                            "cache_control": {"type": "ephemeral"},
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
                        {
                            "type": "document",
                            "source": {"type": "base64", "media_type": "application/pdf", "data": B64_PDF},
                            "title": "r.pdf",
                        },
                        {
                            "type": "document",
                            "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
                        },
                    ],
                }
            ],
        )
        block = message.content[0]
        assert block.type == "text"
        assert "[saw image/png 2x3; image/* url; application/pdf 2p]" in block.text
        # 2x3/750 -> 1, an unknown-size URL as 1092x1092 -> 1590, 2 pages of 2,000, and the text
        # document joins the prompt ("qnotes" is one token more than "q")
        assert message.usage.input_tokens - plain.usage.input_tokens == 1 + 1590 + 4000 + 1


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (
            {"type": "base64", "media_type": "image/tiff", "data": B64_PNG},
            "messages.0.content.1.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
            "'image/gif' or 'image/webp'",
        ),
        (
            {"type": "base64", "media_type": "image/jpeg", "data": B64_PNG},
            "messages.0.content.1.image.source.base64.data: "
            "Image does not match the provided media type image/jpeg",
        ),
        (
            {
                "type": "base64",
                "media_type": "image/png",
                "data": base64.b64encode(b"\x89PNG" + b"\0" * (5 * 1024 * 1024)).decode(),
            },
            "messages.0.content.1.image.source.base64: "
            "image exceeds 5 MB maximum: 5242884 bytes > 5242880 bytes",
        ),
        (
            {"type": "file", "file_id": "file_1"},
            "messages.0.content.1.image.source: Input tag 'file' found using 'type' does not match",
        ),
    ],
)
def test_anthropic_refuses_bad_images_with_its_error_shape(source: dict[str, Any], says: str) -> None:
    with Simulator().in_thread() as sim:
        client = anthropic.Anthropic(
            base_url=sim.url("anthropic"), api_key=sim.key("anthropic"), max_retries=0
        )
        with pytest.raises(anthropic.BadRequestError) as refused:
            client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=50,
                messages=[
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "q"}, {"type": "image", "source": source}],
                    }
                ],  # type: ignore[typeddict-item, list-item]
            )
        body = refused.value.body
        assert isinstance(body, dict) and body["type"] == "error"
        assert body["error"]["type"] == "invalid_request_error" and body["error"]["message"].startswith(says)


def test_anthropic_refuses_a_document_that_is_not_a_pdf() -> None:
    with Simulator().in_thread() as sim:
        client = anthropic.Anthropic(
            base_url=sim.url("anthropic"), api_key=sim.key("anthropic"), max_retries=0
        )
        with pytest.raises(
            anthropic.BadRequestError,
            match=r"document\.source\.base64\.data: The PDF specified was not valid",
        ):
            client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=50,
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "document",
                                "source": {
                                    "type": "base64",
                                    "media_type": "application/pdf",
                                    "data": B64_PNG,
                                },
                            }
                        ],
                    }
                ],
            )


# ---------------------------------------------------------------------------- Gemini, Ollama (raw HTTP)


def gemini_body(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "What is this?"}, *parts]}]}


@pytest.mark.anyio
async def test_gemini_inline_and_file_data(sim: Simulator, client: httpx2.AsyncClient) -> None:
    url = f"{sim.url('gemini')}/v1beta/models/gemini-2.5-flash:generateContent"
    headers = {"x-goog-api-key": sim.key("gemini")}
    plain = (await client.post(url, headers=headers, json=gemini_body())).json()
    both = gemini_body(
        {"inlineData": {"mimeType": "image/png", "data": B64_PNG}},
        {"file_data": {"mime_type": "application/pdf", "file_uri": "https://example.com/r.pdf"}},
        {"inline_data": {"mime_type": "application/pdf", "data": B64_PDF}},
    )
    got = (await client.post(url, headers=headers, json=both)).json()
    text = got["candidates"][0]["content"]["parts"][0]["text"]
    assert "[saw image/png 2x3; application/pdf 1p url; application/pdf 2p]" in text
    extra = got["usageMetadata"]["promptTokenCount"] - plain["usageMetadata"]["promptTokenCount"]
    assert extra == 258 + 258 + 2 * 258
    count_url = url.replace(":generateContent", ":countTokens")
    counted = (await client.post(count_url, headers=headers, json=both)).json()
    assert counted["totalTokens"] == got["usageMetadata"]["promptTokenCount"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("part", "says"),
    [
        ({"inlineData": {"mimeType": "image/gif", "data": B64_PNG}}, "Unsupported MIME type: image/gif"),
        ({"inlineData": {"mimeType": "image/png", "data": "@@@@"}}, "(TYPE_BYTES), Base64 decoding failed"),
        ({"inlineData": {"mimeType": "application/pdf", "data": B64_PNG}}, "The document has no pages."),
        ({"fileData": {"fileUri": "https://example.com/x"}}, "mime_type is not specified"),
    ],
)
async def test_gemini_refuses_bad_parts(
    sim: Simulator, client: httpx2.AsyncClient, part: dict[str, Any], says: str
) -> None:
    url = f"{sim.url('gemini')}/v1beta/models/gemini-2.5-flash:generateContent"
    r = await client.post(url, headers={"x-goog-api-key": sim.key("gemini")}, json=gemini_body(part))
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and says in error["message"]


@pytest.mark.anyio
async def test_gemini_2_0_does_not_fetch_urls(sim: Simulator, client: httpx2.AsyncClient) -> None:
    sim.add_model("gemini", "gemini-2.0-flash", context_length=1048576)
    url = f"{sim.url('gemini')}/v1beta/models/gemini-2.0-flash:generateContent"
    part = {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/a.png"}}
    r = await client.post(url, headers={"x-goog-api-key": sim.key("gemini")}, json=gemini_body(part))
    assert r.status_code == 400 and "Unsupported file uri" in r.json()["error"]["message"]


@pytest.mark.anyio
async def test_ollama_images(sim: Simulator, client: httpx2.AsyncClient) -> None:
    sim.add_model("ollama", "llava:latest", context_length=4096)
    url = f"{sim.url('ollama')}/api/chat"
    ask = {"role": "user", "content": "What is this?", "images": [B64_PNG]}
    got = (await client.post(url, json={"model": "llava", "stream": False, "messages": [ask]})).json()
    assert "[saw image/png 2x3]" in got["message"]["content"]
    plain = (
        await client.post(url, json={"model": "llava", "stream": False, "messages": [{**ask, "images": []}]})
    ).json()
    assert got["prompt_eval_count"] - plain["prompt_eval_count"] == 576
    show = (await client.post(f"{sim.url('ollama')}/api/show", json={"model": "llava"})).json()
    assert "vision" in show["capabilities"]
    text_only = await client.post(url, json={"model": "llama3.2", "stream": False, "messages": [ask]})
    assert text_only.status_code == 500
    assert text_only.json() == {"error": "this model is missing data required for image input"}
    bad = await client.post(
        url, json={"model": "llava", "stream": False, "messages": [{**ask, "images": ["ab$d"]}]}
    )
    assert bad.status_code == 400 and bad.json() == {"error": "illegal base64 data at input byte 2"}
