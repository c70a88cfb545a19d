"""Message content as a string or OpenAI chat content parts (core.py)."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from mcp_router.catalog.tokens import estimate_messages
from mcp_router.core import (
    CompletionRequest,
    FilePart,
    ImagePart,
    Message,
    TextPart,
    data_url,
    describe_source,
    has_media,
    parse_data_url,
    source_of,
)
from mcp_router.routing.attempt import with_prefix

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def test_string_content_is_unchanged() -> None:
    m = Message(role="user", content="hi")
    assert m.content == "hi" and m.text == "hi" and m.media == []
    assert m.parts == [TextPart(text="hi")]
    assert m.model_dump(exclude_none=True) == {"role": "user", "content": "hi"}


def test_parts_validate_into_typed_models_and_dump_in_openai_shape() -> None:
    raw = {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
            {"type": "file", "file": {"filename": "r.pdf", "file_data": "/tmp/r.pdf"}},
        ],
    }
    m = Message.model_validate(raw)
    assert isinstance(m.content, list)
    text, image, doc = m.content
    assert isinstance(text, TextPart) and isinstance(image, ImagePart) and isinstance(doc, FilePart)
    assert image.url == "https://example.com/a.png" and image.image_url.detail == "low"
    assert doc.url == "/tmp/r.pdf" and doc.file.filename == "r.pdf"
    assert m.text == "What is this?" and m.media == [image, doc]
    assert m.model_dump(exclude_none=True) == raw
    assert has_media([m]) and not has_media([Message(role="user", content="x")])


def test_a_bare_image_url_string_is_accepted() -> None:
    m = Message.model_validate(
        {"role": "user", "content": [{"type": "image_url", "image_url": "https://x/y.png"}]}
    )
    assert m.media[0].url == "https://x/y.png"


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": ""}},
        {"type": "image_url", "image_url": {"url": "https://x", "detail": "huge"}},
        {"type": "file", "file": {"file_id": "file-abc"}},
        {"type": "input_audio", "input_audio": {"data": "", "format": "wav"}},
        {"type": "text"},
    ],
)
def test_malformed_parts_are_refused(part: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Message.model_validate({"role": "user", "content": [part]})


def test_only_user_turns_carry_media() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
    for role in ("system", "assistant"):
        with pytest.raises(ValidationError, match="only user messages may carry images"):
            Message.model_validate({"role": role, "content": [image]})
    sys = Message.model_validate({"role": "system", "content": [{"type": "text", "text": "be brief"}]})
    assert CompletionRequest(messages=[sys, Message(role="user", content="q")]).system == "be brief"


def test_text_readers_keep_working_with_parts() -> None:
    as_parts = Message.model_validate({"role": "user", "content": [{"type": "text", "text": "hello there"}]})
    as_string = Message(role="user", content="hello there")
    assert estimate_messages([as_parts]) == estimate_messages([as_string])
    prefill = Message.model_validate(
        {"role": "assistant", "content": [{"type": "text", "text": "The answer"}]}
    )
    out = with_prefix([as_string, prefill], " is 4")
    assert out[-1] == Message(role="assistant", content="The answer is 4")


def test_sources_and_data_urls() -> None:
    url = data_url("image/png", PNG)
    assert source_of(url) == "data" and source_of("https://a/b.png") == "remote"
    assert source_of("HTTP://a/b.png") == "remote"
    assert source_of("/abs/path.png") == "local" and source_of("file:///abs/path.png") == "local"
    parsed = parse_data_url(url)
    assert parsed is not None and parsed.media_type == "image/png"
    assert parsed.size == len(PNG) and parsed.decode() == PNG
    named = parse_data_url("data:application/pdf;name=r.pdf;base64," + base64.b64encode(b"%PDF-1.4").decode())
    assert named is not None and named.media_type == "application/pdf" and named.decode() == b"%PDF-1.4"
    assert parse_data_url("data:text/plain,hello") is None  # not base64
    bad = parse_data_url("data:image/png;base64,@@@")
    assert bad is not None
    with pytest.raises(ValueError, match="base64"):
        bad.decode()


def test_describe_source_never_echoes_bytes() -> None:
    url = data_url("image/png", PNG * 100)
    said = describe_source(url)
    assert base64.b64encode(PNG).decode()[:12] not in said
    assert said == f"a data URL (image/png, {len(PNG) * 100} bytes)"
    assert describe_source("https://example.com/x.png") == "https://example.com/x.png"


def test_tool_argument_errors_name_the_part_and_never_its_data() -> None:
    from mcp_router.api.arguments import CompletionArgs, InvalidArguments

    big = "data:image/png;base64," + "QUFB" * 1000

    def refusal(content: object) -> str:
        with pytest.raises(InvalidArguments) as refused:
            CompletionArgs.parse({"messages": [{"role": "user", "content": content}]}).to_route_request()
        return str(refused.value)

    extra = refusal([{"type": "image_url", "image_url": {"url": big}, "extra": 1}])
    assert "`messages[0].content[0]` has an unknown key `extra` (it takes type, text, cache_control," in extra
    assert "QUFB" not in extra
    assert "`messages[0].content[0]` content part `type` must be text, image_url or file" in refusal(
        [{"type": "video", "video": {"url": big}}]
    )
    assert "`messages[0].content[0].image_url.url` is required" in refusal(
        [{"type": "image_url", "image_url": {}}]
    )
    assert "`messages[0].content` must be a list" in refusal(5)
