"""What each wire protocol takes as images and files, and the one helper every adapter uses to
put a part's bytes or URL on the wire (pure).

From the providers' API references:
- OpenAI chat: `image_url` parts take an http(s) URL or a base64 data URL (png, jpeg, gif,
  webp; 20 MB); `file` parts take `file_data` only as a base64 data URL (PDF). OpenRouter, on
  the same wire, also takes a URL in `file_data`.
- Anthropic Messages: `image` blocks (jpeg, png, gif, webp; 5 MB each) and `document` blocks
  (PDF) with a `base64` or a `url` source.
- Gemini: `inlineData` (base64 bytes) or `fileData` (`fileUri` + required `mimeType`). Images
  png, jpeg, webp, heic, heif (no gif). Public http(s) URLs in `fileUri` are fetched by Google
  for the 2.5 family and later; Gemini 1.x and 2.0 take them only as bytes.
- Ollama `/api/chat`: `images`, a list of base64 strings, nothing else (no URLs, no PDFs).

A part a wire cannot take is never sent: planning leaves such endpoints out with a reason
(`routing/filters.py`), and the adapters raise `BadRequest` should one slip through.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from mcp_router.core import DataURL, FilePart, ImagePart, MediaPart, parse_data_url, source_of
from mcp_router.errors import BadRequest

Kind = Literal["image", "pdf", "text"]  # text: a text file, read into the prompt as text
PDF = "application/pdf"

IMAGE_TYPES: dict[str, frozenset[str]] = {
    "openai": frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"}),
    "anthropic": frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
    "gemini": frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"}),
    "ollama": frozenset({"image/png", "image/jpeg", "image/webp"}),
}
# Largest image each API takes inline, in bytes (None: no documented limit).
IMAGE_MAX_BYTES: dict[str, int | None] = {
    "openai": 20 * 1024 * 1024,
    "anthropic": 5 * 1024 * 1024,
    "gemini": 20 * 1024 * 1024,
    "ollama": None,
}
_OLD_GEMINI = ("gemini-1.", "gemini-2.0", "gemini-pro")


@dataclass(frozen=True, slots=True)
class MediaFact:
    """What planning needs to know about one part without reading it."""

    kind: Kind
    source: Literal["data", "remote", "local"]
    media_type: str | None  # None: unknown until the bytes are read
    size: int | None  # bytes, when known


def guess_type(url: str) -> str | None:
    """A media type from a URL's or path's extension (`.png` -> image/png), or None."""
    path = urlsplit(url).path if source_of(url) == "remote" else url
    guessed, _ = mimetypes.guess_type(path, strict=False)
    if guessed == "image/jpg":
        return "image/jpeg"
    return guessed


def fact(part: MediaPart) -> MediaFact:
    url = part.url
    source = source_of(url)
    media_type: str | None
    size: int | None = None
    if source == "data":
        parsed = parse_data_url(url)
        media_type, size = (parsed.media_type, parsed.size) if parsed else (None, None)
    else:
        media_type = guess_type(url)
    if isinstance(part, FilePart):
        # Files are PDFs, or text files the router reads into the prompt; a remote file can
        # only be told apart by fetching it, so it counts as a PDF.
        if source == "remote":
            return MediaFact("pdf", source, PDF, size)
        kind: Kind = "text" if media_type is not None and media_type.startswith("text/") else "pdf"
        return MediaFact(kind, source, media_type, size)
    return MediaFact("image", source, media_type, size)


def takes_url(protocol: str, provider: str, native_model: str, f: MediaFact) -> bool:
    """Whether this wire fetches the part from its URL itself (else it needs the bytes)."""
    if protocol == "anthropic":
        return True
    if protocol == "openai":
        return f.kind == "image" or provider == "openrouter"
    if protocol == "gemini":
        known = f.media_type is not None
        return known and not native_model.removeprefix("models/").startswith(_OLD_GEMINI)
    return False


def refusal(protocol: str, f: MediaFact, who: str | None = None) -> str | None:
    """Why this wire (provider `who`) refuses the part whatever the model, or None."""
    who = who or protocol
    if f.kind == "text":
        return None
    if f.kind == "pdf":
        if protocol == "ollama":
            return f"{who} takes no documents (images only)"
        if f.media_type is not None and f.media_type != PDF:
            return f"{who} takes PDF documents, not {f.media_type}"
        return None
    accepted = IMAGE_TYPES.get(protocol, IMAGE_TYPES["openai"])
    if f.media_type is not None and f.media_type not in accepted:
        return f"{who} does not take {f.media_type} images"
    limit = IMAGE_MAX_BYTES.get(protocol)
    if limit is not None and f.size is not None and f.size > limit:
        return f"{who} takes images up to {limit // (1024 * 1024)} MB; this one is {f.size} bytes"
    return None


def bytes_only_reason(protocol: str, provider: str, native_model: str, f: MediaFact) -> str | None:
    """Why a remote part cannot go to this endpoint unless the router fetches it, or None."""
    if f.source != "remote" or takes_url(protocol, provider, native_model, f):
        return None
    noun = "image" if f.kind == "image" else "document"
    return (
        f"{provider} takes this {noun} only as bytes: set [files] fetch_remote = true, "
        "or pass a local file or a data URL"
    )


def payload(part: MediaPart, fetched: Mapping[str, str], *, url_ok: bool, provider: str) -> str | DataURL:
    """The part for the wire: its remote URL (when the wire fetches URLs itself) or its bytes
    as a `DataURL` (inline, or fetched by the router for a wire that takes only bytes)."""
    url = part.url
    source = source_of(url)
    if source == "remote":
        if url_ok:
            return url
        inline = fetched.get(url)
        if inline is None:
            raise BadRequest(
                provider,
                f"{provider} takes this {_noun(part)} only as bytes and it was not fetched: "
                "set [files] fetch_remote = true, or pass a local file or a data URL",
                endpoint_specific=True,
            )
        url = inline
    elif source == "local":
        raise BadRequest(provider, "a local file reached the adapter unread", endpoint_specific=True)
    parsed = parse_data_url(url)
    if parsed is None:
        raise BadRequest(provider, f"the {_noun(part)} is a data URL without base64 data")
    return parsed


def _noun(part: MediaPart) -> str:
    return "image" if isinstance(part, ImagePart) else "file"
