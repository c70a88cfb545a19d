"""Content parts (text, images, files), data URLs, and media sniffing of raw bytes."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

# ---------------------------------------------------------------------------- content parts
# OpenAI chat content parts (OpenRouter's shapes, README "Images and files"). A `url` /
# `file_data` is an http(s) URL, a data URL (base64, with its media type), or a local file as a
# `file://` URL or an absolute path; the router reads local files (under allowed roots) before
# any adapter sees the request, so adapters meet only the first two.


class CacheControl(BaseModel):
    """Anthropic's cache breakpoint on a part, passed through where the wire knows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["ephemeral"] = "ephemeral"
    ttl: Literal["5m", "1h"] | None = None


class TextPart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["text"] = "text"
    text: str
    cache_control: CacheControl | None = None


class ImageURL(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(min_length=1)
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL
    cache_control: CacheControl | None = None

    @field_validator("image_url", mode="before")
    @classmethod
    def _bare_url(cls, value: Any) -> Any:
        # Some clients send `"image_url": "https://..."` (Ollama's OpenAI layer accepts it).
        return {"url": value} if isinstance(value, str) else value

    @property
    def url(self) -> str:
        return self.image_url.url


class FileData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str | None = None
    file_data: str = Field(min_length=1)


class FilePart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["file"] = "file"
    file: FileData
    cache_control: CacheControl | None = None

    @property
    def url(self) -> str:
        return self.file.file_data


def _part_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"{kind} part" if kind in ("text", "image_url", "file") else None


# Tagged by a function, not by `type` alone: pydantic puts the tag in an error's location, and
# the tag `image_url` would read as the field `image_url` there.
ContentPart = Annotated[
    Annotated[TextPart, Tag("text part")]
    | Annotated[ImagePart, Tag("image_url part")]
    | Annotated[FilePart, Tag("file part")],
    Discriminator(
        _part_kind,
        custom_error_type="part_type",
        custom_error_message="content part `type` must be text, image_url or file",
    ),
]
Content = Annotated[
    Annotated[str, Tag("string")] | Annotated[list[ContentPart], Tag("parts")],
    Discriminator(lambda v: "string" if isinstance(v, str) else "parts"),
]
MediaPart = ImagePart | FilePart
Source = Literal["data", "remote", "local"]

_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,", re.IGNORECASE)


def source_of(url: str) -> Source:
    """Where a part's bytes are: inline (`data:`), at an http(s) URL, or in a local file."""
    head = url[:8].lower()
    if head.startswith("data:"):
        return "data"
    if head.startswith(("https://", "http://")):
        return "remote"
    return "local"


@dataclass(frozen=True, slots=True)
class DataURL:
    """A base64 data URL taken apart; `data` is the base64 text, not decoded."""

    media_type: str
    data: str

    @property
    def size(self) -> int:
        """Decoded bytes (from the base64 length, without decoding)."""
        pad = len(self.data) - len(self.data.rstrip("="))
        return max(0, len(self.data) * 3 // 4 - pad)

    def decode(self) -> bytes:
        """The bytes; raises ValueError on text that is not base64."""
        try:
            return base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not valid base64") from exc


def parse_data_url(url: str) -> DataURL | None:
    """`data:<type>;base64,<data>` -> DataURL, or None for anything else (including a data URL
    that is not base64: every provider wants base64)."""
    match = _DATA_URL.match(url)
    if match is None:
        return None
    media_type = (match.group("type") or "application/octet-stream").lower()
    return DataURL(media_type, url[match.end() :].strip())


def data_url(media_type: str, raw: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(raw).decode('ascii')}"


def describe_source(url: str) -> str:
    """A part's source for an error message: never the bytes of a data URL."""
    if source_of(url) == "data":
        parsed = parse_data_url(url)
        return f"a data URL ({parsed.media_type}, {parsed.size} bytes)" if parsed else "a data URL"
    return url if len(url) <= 200 else url[:199] + "…"


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


def sniff(raw: bytes) -> str | None:
    """The media type from the content's first bytes (png, jpeg, gif, webp, pdf), or None."""
    for magic, media_type in _MAGIC:
        if raw.startswith(magic):
            return media_type
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_size(raw: bytes) -> tuple[int, int] | None:
    """(width, height) from a png, gif, webp or jpeg header, or None when it cannot be read."""
    kind = sniff(raw)
    if kind == "image/png" and len(raw) >= 24:
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if kind == "image/gif" and len(raw) >= 10:
        return int.from_bytes(raw[6:8], "little"), int.from_bytes(raw[8:10], "little")
    if kind == "image/webp" and len(raw) >= 30:
        return _webp_size(raw)
    if kind == "image/jpeg":
        return _jpeg_size(raw)
    return None


def _webp_size(raw: bytes) -> tuple[int, int] | None:
    chunk = raw[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(raw[24:27], "little"), 1 + int.from_bytes(raw[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(raw[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        return int.from_bytes(raw[26:28], "little") & 0x3FFF, int.from_bytes(raw[28:30], "little") & 0x3FFF
    return None


def _jpeg_size(raw: bytes) -> tuple[int, int] | None:
    """Walk the JPEG segments to the first start-of-frame marker (SOF0-SOF15 but DHT, JPG, DAC)."""
    i = 2
    while i + 9 < len(raw):
        if raw[i] != 0xFF:
            return None
        marker = raw[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(raw[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(raw[i + 7 : i + 9], "big"), int.from_bytes(raw[i + 5 : i + 7], "big")
        i += 2 + length
    return None


def has_media(messages: Any) -> bool:
    """Whether any message carries an image or a file (the fast path skips all media work)."""
    return any(not isinstance(m.content, str) and m.media for m in messages)
