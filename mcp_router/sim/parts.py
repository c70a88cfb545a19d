"""Images and documents in simulated requests, read and validated as each real API does, with
its own error wording (from the providers' references and the errors they are seen to return).

Each reader returns the message's text and what it saw (`Seen`), or a `Problem` the protocol
module turns into its error body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcp_router.sim import media
from mcp_router.sim.media import Seen

OPENAI_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")
ANTHROPIC_IMAGES = ("image/jpeg", "image/png", "image/gif", "image/webp")
GEMINI_TYPES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif", "application/pdf")
MB = 1024 * 1024


@dataclass
class Problem:
    """A refusal: HTTP status and message, plus OpenAI's `code` and `param`."""

    message: str
    status: int = 400
    code: str | None = None
    param: str | None = None


@dataclass
class Read:
    """A message's text and the images and documents it carried."""

    text: str = ""
    seen: list[Seen] = field(default_factory=list)


def _data_url(url: str) -> tuple[str, str] | None:
    """(media type, base64 data) of a base64 data URL, or None."""
    head, sep, data = url.partition(",")
    if not sep or not head.lower().startswith("data:") or not head.lower().endswith(";base64"):
        return None
    return head[5:].split(";", 1)[0].lower(), data


# ---------------------------------------------------------------------------- OpenAI chat

_OPENAI_EXAMPLE = "(e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU=')"
_FORMATS = "['png', 'jpeg', 'gif', 'webp']"


def openai_content(
    content: Any, i: int, role: str, modalities: frozenset[str], openrouter: bool
) -> Read | Problem:
    if isinstance(content, str) or content is None:
        return Read(content or "")
    if not isinstance(content, list):
        return Problem(
            f"Invalid type for 'messages[{i}].content': expected a string or an array.", code="invalid_type"
        )
    out = Read()
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        where = f"messages[{i}].content[{j}]"
        if kind == "text" and isinstance(part.get("text"), str):
            out.text += part["text"]
            continue
        if role != "user" and kind in ("image_url", "file", "input_audio"):
            return Problem(
                f"Invalid value: '{kind}'. Supported values are: 'text'.",
                code="invalid_value",
                param=f"{where}.type",
            )
        if kind == "image_url":
            got = _openai_image(part, where, modalities)
        elif kind == "file":
            got = _openai_file(part, where, modalities, openrouter)
        else:
            return Problem(
                f"Invalid value: '{kind}'. Supported values are: 'text', 'image_url', 'input_audio', "
                "'refusal', 'audio', and 'file'.",
                code="invalid_value",
                param=f"{where}.type",
            )
        if isinstance(got, Problem):
            return got
        out.seen.append(got)
    return out


def _unsupported(kind: str, where: str) -> Problem:
    return Problem(
        f"Invalid content type. {kind} is only supported by certain models.", param=f"{where}.type"
    )


def _openai_image(part: dict[str, Any], where: str, modalities: frozenset[str]) -> Seen | Problem:
    if "image" not in modalities:
        return _unsupported("image_url", where)
    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, dict) else None
    if not isinstance(url, str):
        return Problem(
            f"Missing required parameter: '{where}.image_url.url'.", code="missing_required_parameter"
        )
    detail = spec.get("detail") if isinstance(spec, dict) else None
    if url.lower().startswith(("https://", "http://")):
        return Seen("image", "image/*", url=True, detail=detail)
    bad = (
        f"Invalid image URL: '{where}.image_url.url'. Expected a base64-encoded data URL with an image "
        f"MIME type {_OPENAI_EXAMPLE}, but got"
    )
    parsed = _data_url(url)
    if parsed is None:
        return Problem(
            f"{bad} a value without the 'data:' prefix.", code="invalid_value", param=f"{where}.image_url.url"
        )
    declared, data = parsed
    if not declared.startswith("image/"):
        return Problem(
            f"{bad} unsupported MIME type '{declared}'.", code="invalid_value", param=f"{where}.image_url.url"
        )
    raw = media.b64decode(data)
    if raw is None or not raw:
        return Problem(
            "You uploaded an unsupported image. Please make sure your image is valid.",
            code="image_parse_error",
        )
    if len(raw) > 20 * MB or media.sniff(raw) not in OPENAI_IMAGES:
        return Problem(
            "You uploaded an unsupported image. Please make sure your image is below 20 MB in size and is of "
            f"one the following formats: {_FORMATS}.",
            code="invalid_image_format",
        )
    return media.seen_bytes("image", str(media.sniff(raw)), raw, detail)


def _openai_file(
    part: dict[str, Any], where: str, modalities: frozenset[str], openrouter: bool
) -> Seen | Problem:
    if "file" not in modalities:
        return _unsupported("file", where)
    raw_spec = part.get("file")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    data = spec.get("file_data")
    if not isinstance(data, str):
        return Problem(
            f"Missing required parameter: '{where}.file.file_data'.", code="missing_required_parameter"
        )
    if openrouter and data.lower().startswith(("https://", "http://")):
        return Seen("pdf", "application/pdf", url=True)  # OpenRouter fetches PDF URLs itself
    if not spec.get("filename"):
        return Problem(
            f"Missing required parameter: '{where}.file.filename'.", code="missing_required_parameter"
        )
    parsed = _data_url(data)
    if parsed is None:
        return Problem(
            f"Invalid 'file_data': '{where}.file.file_data'. Expected a base64-encoded data URL with a "
            "file MIME type (e.g. 'data:application/pdf;base64,SGVsbG8='), but got a value without the "
            "'data:' prefix.",
            code="invalid_value",
            param=f"{where}.file.file_data",
        )
    raw = media.b64decode(parsed[1])
    if raw is None or media.sniff(raw) != "application/pdf":
        return Problem(
            f"Invalid file data: '{where}.file.file_data'. Expected a PDF file.", code="invalid_value"
        )
    return media.seen_bytes("pdf", "application/pdf", raw)


def openai_tokens(seen: list[Seen], model: str) -> int:
    return sum(
        media.openai_image_tokens(s.width, s.height, s.detail, model)
        if s.kind == "image"
        else s.pages * media.PAGE_TOKENS["openai"]
        for s in seen
    )


# ---------------------------------------------------------------------------- Anthropic


def anthropic_blocks(blocks: list[dict[str, Any]], i: int) -> Read | Problem:
    out = Read()
    for j, block in enumerate(blocks):
        kind = block.get("type")
        where = f"messages.{i}.content.{j}"
        if kind == "text":
            out.text += str(block.get("text", ""))
        elif kind == "image":
            got = _anthropic_image(block.get("source"), f"{where}.image.source")
            if isinstance(got, Problem):
                return got
            out.seen.append(got)
        elif kind == "document":
            doc = _anthropic_document(block.get("source"), f"{where}.document.source")
            if isinstance(doc, Problem):
                return doc
            if isinstance(doc, str):
                out.text += doc
            else:
                out.seen.append(doc)
    return out


def _tag_problem(where: str, tag: Any, expected: str) -> Problem:
    return Problem(
        f"{where}: Input tag '{tag}' found using 'type' does not match any of the expected tags: {expected}"
    )


def _anthropic_image(source: Any, where: str) -> Seen | Problem:
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "url" and isinstance(source.get("url"), str):
        return Seen("image", "image/*", url=True)
    if kind != "base64":
        return _tag_problem(where, kind, "'base64', 'url'")
    declared = source.get("media_type")
    if declared not in ANTHROPIC_IMAGES:
        return Problem(
            f"{where}.base64.media_type: Input should be "
            "'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
        )
    raw = media.b64decode(source.get("data"))
    if raw is None:
        return Problem(f"{where}.base64.data: Invalid base64 data")
    if len(raw) > 5 * MB:
        return Problem(f"{where}.base64: image exceeds 5 MB maximum: {len(raw)} bytes > {5 * MB} bytes")
    if media.sniff(raw) != declared:
        return Problem(f"{where}.base64.data: Image does not match the provided media type {declared}")
    return media.seen_bytes("image", declared, raw)


def _anthropic_document(source: Any, where: str) -> Seen | str | Problem:
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "url" and isinstance(source.get("url"), str):
        return Seen("pdf", "application/pdf", url=True)
    if kind == "text":
        return str(source.get("data", ""))
    if kind != "base64":
        return _tag_problem(where, kind, "'base64', 'text', 'content', 'url'")
    if source.get("media_type") != "application/pdf":
        return Problem(f"{where}.base64.media_type: Input should be 'application/pdf'")
    raw = media.b64decode(source.get("data"))
    if raw is None or media.sniff(raw) != "application/pdf":
        return Problem(f"{where}.base64.data: The PDF specified was not valid.")
    return media.seen_bytes("pdf", "application/pdf", raw)


def anthropic_tokens(seen: list[Seen]) -> int:
    return sum(
        media.anthropic_image_tokens(s.width, s.height)
        if s.kind == "image"
        else s.pages * media.PAGE_TOKENS["anthropic"]
        for s in seen
    )


# ---------------------------------------------------------------------------- Gemini


def gemini_parts(parts: Any, i: int, model: str) -> Read | Problem:
    out = Read()
    for j, part in enumerate(parts if isinstance(parts, list) else []):
        if not isinstance(part, dict) or part.get("thought"):
            continue
        inline = part.get("inlineData", part.get("inline_data"))
        uri = part.get("fileData", part.get("file_data"))
        if inline is not None:
            got = _gemini_inline(inline, f"contents[{i}].parts[{j}].inline_data")
        elif uri is not None:
            got = _gemini_file(uri, f"contents[{i}].parts[{j}].file_data", model)
        else:
            out.text += str(part.get("text", ""))
            continue
        if isinstance(got, Problem):
            return got
        out.seen.append(got)
    if sum(s.size for s in out.seen) > 20 * MB:
        return Problem("Request payload size exceeds the limit: 20971520 bytes.")
    return out


def _gemini_inline(inline: Any, where: str) -> Seen | Problem:
    spec = inline if isinstance(inline, dict) else {}
    declared = spec.get("mimeType", spec.get("mime_type"))
    data = spec.get("data")
    raw = media.b64decode(data)
    if raw is None:
        shown = str(data)[:16]
        return Problem(
            f"Invalid value at '{where}.data' (TYPE_BYTES), Base64 decoding failed for \"{shown}\""
        )
    if declared not in GEMINI_TYPES:
        return Problem(f"Unsupported MIME type: {declared}")
    if declared == "application/pdf":
        if media.sniff(raw) != "application/pdf" or media.pdf_pages(raw) == 0:
            return Problem("The document has no pages.")
        return media.seen_bytes("pdf", declared, raw)
    if media.sniff(raw) is None:
        return Problem(
            "Unable to process input image. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting"
        )
    return media.seen_bytes("image", str(declared), raw)


def _gemini_file(spec: Any, where: str, model: str) -> Seen | Problem:
    spec = spec if isinstance(spec, dict) else {}
    uri = spec.get("fileUri", spec.get("file_uri"))
    declared = spec.get("mimeType", spec.get("mime_type"))
    if not isinstance(uri, str):
        return Problem(f"* GenerateContentRequest.{where}.file_uri: file_uri is not specified")
    if not declared:
        return Problem(f"* GenerateContentRequest.{where}.mime_type: mime_type is not specified")
    if declared not in GEMINI_TYPES:
        return Problem(f"Unsupported MIME type: {declared}")
    if uri.lower().startswith(("https://", "http://")) and model.startswith(("gemini-1.", "gemini-2.0")):
        return Problem(f"Unsupported file uri: {uri}")  # external URLs: the 2.5 family on
    return Seen("pdf" if declared == "application/pdf" else "image", str(declared), url=True)


def gemini_tokens(seen: list[Seen]) -> int:
    return sum(
        media.gemini_image_tokens(s.width, s.height)
        if s.kind == "image"
        else s.pages * media.PAGE_TOKENS["gemini"]
        for s in seen
    )


# ---------------------------------------------------------------------------- Ollama


def ollama_images(images: Any, modalities: frozenset[str]) -> list[Seen] | Problem:
    if images is None:
        return []
    if not isinstance(images, list) or not all(isinstance(x, str) for x in images):
        return Problem(
            "json: cannot unmarshal string into Go struct field Message.messages.images "
            "of type []api.ImageData"
        )
    seen = []
    for data in images:
        raw = media.b64decode(data)
        if raw is None:
            return Problem(f"illegal base64 data at input byte {media.bad_base64_at(data)}")
        seen.append(media.seen_bytes("image", str(media.sniff(raw)), raw))
    if seen and "image" not in modalities:
        return Problem("this model is missing data required for image input", status=500)
    if any(s.media_type not in ("image/png", "image/jpeg", "image/webp") for s in seen):
        return Problem("failed to process inputs: image: unknown format", status=500)
    return seen
