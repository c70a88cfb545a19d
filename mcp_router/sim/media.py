"""Images and documents as the simulated providers see them: tiny real files to send (a PNG, a
PDF, made in code), what the bytes are (magic numbers, image size, PDF pages), which models
take images or documents, and each provider's published image/page token rule.

Kept apart from the router's own readers on purpose: the simulator follows the providers'
references, not our code.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Literal

# ---------------------------------------------------------------------------- files to send


def png(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid truecolour PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def pdf(pages: int = 1, text: str = "Hello") -> bytes:
    """A small PDF with `pages` letter-size pages (enough structure for a page count)."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>",
        *(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ({text}) >>"
            for _ in range(pages)
        ),
    ]
    body = "".join(f"{n} 0 obj\n{o}\nendobj\n" for n, o in enumerate(objs, start=1))
    return f"%PDF-1.4\n{body}trailer\n<< /Root 1 0 R >>\n%%EOF\n".encode()


# ---------------------------------------------------------------------------- reading bytes


def b64decode(data: Any) -> bytes | None:
    """Strict base64 (as the APIs decode it), or None."""
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def bad_base64_at(data: str) -> int:
    """The index of the first character outside the base64 alphabet (Go's error names it)."""
    for i, ch in enumerate(data):
        if not (ch.isascii() and (ch.isalnum() or ch in "+/=")):
            return i
    return max(0, len(data) - len(data) % 4)


def sniff(raw: bytes) -> str | None:
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if raw.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    if raw.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def dims(raw: bytes) -> tuple[int, int] | None:
    """(width, height) for PNG and GIF (what the tests send); None for the rest."""
    kind = sniff(raw)
    if kind == "image/png" and len(raw) >= 24:
        w, h = struct.unpack(">II", raw[16:24])
        return int(w), int(h)
    if kind == "image/gif" and len(raw) >= 10:
        w, h = struct.unpack("<HH", raw[6:10])
        return int(w), int(h)
    return None


def pdf_pages(raw: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", raw))


# ---------------------------------------------------------------------------- what was seen

Kind = Literal["image", "pdf"]


@dataclass(frozen=True)
class Seen:
    """One image or document a request carried."""

    kind: Kind
    media_type: str
    size: int = 0  # bytes (0 for a URL the provider would fetch)
    width: int | None = None
    height: int | None = None
    pages: int = 1
    url: bool = False  # passed by URL
    detail: str | None = None  # OpenAI's image detail

    @property
    def label(self) -> str:
        shape = f" {self.width}x{self.height}" if self.width and self.height else ""
        pages = f" {self.pages}p" if self.kind == "pdf" else ""
        return f"{self.media_type}{shape}{pages}{' url' if self.url else ''}"


def seen_bytes(kind: Kind, media_type: str, raw: bytes, detail: str | None = None) -> Seen:
    size = dims(raw) if kind == "image" else None
    return Seen(
        kind,
        media_type,
        len(raw),
        size[0] if size else None,
        size[1] if size else None,
        pdf_pages(raw) if kind == "pdf" else 1,
        detail=detail,
    )


# ---------------------------------------------------------------------------- models

_VISION = ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "claude", "gemini", "llava", "gemma3")
_VISION_MORE = ("llama3.2-vision", "qwen2.5vl", "minicpm-v", "pixtral")
_DOCUMENTS = ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "claude", "gemini")
_TEXT_ONLY = ("o1-mini", "o3-mini")


def input_modalities(name: str, listing: dict[str, Any]) -> frozenset[str]:
    """What a model takes: the listing's `input_modalities` when given, else by its family as
    the providers document them (`file` = documents)."""
    given = listing.get("input_modalities")
    if isinstance(given, list):
        return frozenset(str(m) for m in given)
    base = name.lower().rsplit("/", 1)[-1]
    if base.startswith(_TEXT_ONLY):
        return frozenset({"text"})
    out = {"text"}
    if base.startswith(_VISION + _VISION_MORE):
        out.add("image")
    if base.startswith(_DOCUMENTS):
        out.add("file")
    return frozenset(out)


# ---------------------------------------------------------------------------- token rules


def openai_image_tokens(width: int | None, height: int | None, detail: str | None, model: str) -> int:
    """OpenAI's tile rule: `low` is the base; else fit in 2048x2048, shortest side to 768, then
    base + per-tile for each 512px tile (85 + 170 each; gpt-4o-mini 2833 + 5667 each)."""
    base, per_tile = (2833, 5667) if "gpt-4o-mini" in model else (85, 170)
    if detail == "low":
        return base
    w, h = float(width or 512), float(height or 512)
    scale = min(1.0, 2048 / max(w, h))
    w, h = w * scale, h * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return base + per_tile * math.ceil(w / 512) * math.ceil(h / 512)


def anthropic_image_tokens(width: int | None, height: int | None) -> int:
    """Anthropic: width * height / 750, after resizing into a 1568 px long edge and ~1.2 MP."""
    w, h = (width or 1092), (height or 1092)
    scale = min(1.0, 1568 / max(w, h), math.sqrt(1_200_000 / (w * h)))
    return max(1, math.ceil(w * scale * h * scale / 750))


def gemini_image_tokens(width: int | None, height: int | None) -> int:
    """Gemini: 258 for an image of at most 384x384, else 258 per 768x768 tile."""
    w, h = (width or 384), (height or 384)
    if w <= 384 and h <= 384:
        return 258
    return 258 * math.ceil(w / 768) * math.ceil(h / 768)


OLLAMA_IMAGE_TOKENS = 576  # a 24x24 patch grid, as llava-style projectors emit
PAGE_TOKENS = {"openai": 1500, "anthropic": 2000, "gemini": 258}
