"""Token estimates without a tokenizer: no vocabulary files, no network (pure).

Text is cut into pieces much as OpenAI's o200k pre-tokenizer cuts it (words with their leading
space, CamelCase parts, digit groups of three, punctuation runs, whitespace, Devanagari words,
CJK runs); each piece is priced by its class and length from a table fitted against o200k
(bench/tokens_fit.py). bench/tokens_accuracy.py reports the error per kind of text.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Iterable, Iterator

from mcp_router.core import ImagePart, MediaPart, Message, image_size, parse_data_url, source_of

# OpenAI's chat format: ~3 tokens per message (role and separators) and 3 priming the reply.
PER_MESSAGE_TOKENS = 3
REPLY_PRIMING_TOKENS = 3

_DEVA = "\u0900-\u097f\u200c\u200d"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_PUNCT = "\u3000-\u303f\uff00-\uffef"
# As in o200k, a word may carry one leading non-letter (a space, a quote, a dot, `_`).
_PRE = r"(?:[^\r\n\w]|_)?"
_PIECE = re.compile(
    rf"(?P<deva>{_PRE}[{_DEVA}]+)"
    rf"|(?P<cjk>[{_CJK}]+)"
    rf"|(?P<cjkpunct>[{_CJK_PUNCT}])"
    rf"|(?P<word>{_PRE}(?:[A-Z]*[a-z]+|[A-Z]+(?![a-z])))"
    rf"|(?P<other>{_PRE}(?:(?![{_DEVA}{_CJK}{_CJK_PUNCT}])[^\W\d_])+)"
    r"|(?P<digits>\d{1,3})"
    rf"|(?P<punct> ?(?:(?![{_CJK_PUNCT}])[^\w\s]|_)+)"
    r"|(?P<newline>\s*\n)"
    r"|(?P<space>\s+)"
)


def _letters(piece: str) -> int:
    """Length of a word piece without its leading non-letter."""
    return len(piece) - (1 if piece and not piece[0].isalpha() else 0)


# Mean o200k tokens of a piece by its length (index), fitted by bench/tokens_fit.py.
# ASCII word (letters, without its leading space):
_WORD = (0, 1.0, 1.0, 1.02, 1.03, 1.07, 1.09, 1.18, 1.23, 1.3, 1.41, 1.45, 1.9, 1.71, 1.88, 2.57)
# ASCII word led by punctuation (`.name`, `"id`, `_dec`), by its letters:
_PWORD = (0, 1.03, 1.32, 1.23, 1.11, 1.23, 1.35, 1.55, 1.72, 1.98, 2.09, 2.28, 2.63, 3.22, 3.26, 3.87)
# Punctuation run (without its leading space); long runs are mostly repeats ("-----") and merge well.
_PUNCT = (0, 1.0, 1.0, 1.1, 1.6, 2.0, 2.6, 3.1, 3.6)
# Devanagari word, by its letters and marks:
_DEVA_WORD = (0, 1.0, 1.01, 1.29, 1.37, 1.93, 2.2, 2.2, 2.2, 2.5)
_CJK_PER_CHAR = 0.8


def split_pieces(text: str) -> Iterator[tuple[str, str]]:
    """(class, piece) for each piece of `text`; classes: word, other, digits, punct, space,
    newline, deva, cjk, cjkpunct."""
    for match in _PIECE.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        yield kind, match.group()


def _piece_tokens(kind: str, piece: str) -> float:
    if kind == "word":
        n = _letters(piece)
        table = _WORD if piece[0].isalpha() or piece[0] == " " else _PWORD
        return table[n] if n < len(table) else n / 5.5
    if kind in ("digits", "cjkpunct", "newline", "space"):
        return 1.0  # o200k has single tokens for digit triples and whitespace runs
    if kind == "punct":
        n = len(piece.lstrip(" "))
        return _PUNCT[n] if n < len(_PUNCT) else 2.0 + n / 10
    if kind == "cjk":
        return _CJK_PER_CHAR * len(piece)
    if kind == "deva":
        n = _letters(piece)
        return _DEVA_WORD[n] if n < len(_DEVA_WORD) else n / 4
    # Other scripts (accented Latin, Cyrillic, Greek, ...): about two letters a token.
    return 0.5 + 0.4 * _letters(piece)


def estimate_tokens(text: str) -> int:
    """About how many o200k tokens `text` is (within ~10% on prose, code, JSON, Hindi, Chinese)."""
    if not text:
        return 0
    return max(1, round(sum(_piece_tokens(kind, piece) for kind, piece in split_pieces(text))))


def estimate_messages(messages: Iterable[Message], protocol: str | None = None, model: str = "") -> int:
    """Prompt tokens of a chat: each message's text plus its overhead, plus reply priming, plus
    its images and documents by `protocol`'s rule (the largest of the rules when None)."""
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        total += PER_MESSAGE_TOKENS + estimate_tokens(message.role) + estimate_tokens(message.text)
        for part in message.media:
            total += media_tokens(part, protocol, model)
    return total


# ---------------------------------------------------------------------------- images, documents
# Input tokens of an image or a PDF page by each provider's published rule. The provider's
# usage figures are what is billed; these estimates size context checks, cost ceilings and
# budget holds before the call. An image whose size is unknown (a remote URL) counts as
# 1024x1024.

_UNKNOWN_SIDE = 1024
# Per PDF page. Gemini publishes 258 tokens a page. Anthropic publishes 1,500-3,000 a page
# (text plus an image of the page): the upper bound, so holds do not fall short. OpenAI
# publishes no figure (it also sends text plus a page image): a letter-size page image at
# high detail (765) plus a page of text, about 1,500.
PAGE_TOKENS = {"openai": 1500, "anthropic": 3000, "gemini": 258, "ollama": 0}
# Ollama publishes no rule; a llava-style projector emits a 24x24 grid of patch tokens.
OLLAMA_IMAGE_TOKENS = 576


def openai_image_tokens(width: int, height: int, detail: str | None, model: str = "") -> int:
    """OpenAI's tile rule: `low` detail costs the base; otherwise the image is fitted in
    2048x2048, its shortest side scaled to 768, and each 512px tile costs more on top: 85 +
    170 a tile (gpt-4o and most models), 2833 + 5667 a tile (gpt-4o-mini, priced per token
    lower)."""
    base, per_tile = (2833, 5667) if "gpt-4o-mini" in model else (85, 170)
    if detail == "low":
        return base
    w, h = float(width), float(height)
    scale = min(1.0, 2048 / max(w, h))
    w, h = w * scale, h * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return base + per_tile * math.ceil(w / 512) * math.ceil(h / 512)


def anthropic_image_tokens(width: int, height: int) -> int:
    """Anthropic's rule: width * height / 750, after resizing to fit a 1568 px long edge and
    about 1.2 megapixels (its largest unresized sizes, 1092x1092 to 784x1568, ~1,600 tokens)."""
    scale = min(1.0, 1568 / max(width, height), math.sqrt(1_200_000 / (width * height)))
    return max(1, math.ceil(width * scale * height * scale / 750))


def gemini_image_tokens(width: int, height: int) -> int:
    """Gemini's rule: 258 tokens for an image within 384x384, else 258 per 768x768 tile."""
    if width <= 384 and height <= 384:
        return 258
    return 258 * math.ceil(width / 768) * math.ceil(height / 768)


def image_tokens(
    width: int, height: int, protocol: str | None, detail: str | None = None, model: str = ""
) -> int:
    if protocol == "openai":
        return openai_image_tokens(width, height, detail, model)
    if protocol == "anthropic":
        return anthropic_image_tokens(width, height)
    if protocol == "gemini":
        return gemini_image_tokens(width, height)
    if protocol == "ollama":
        return OLLAMA_IMAGE_TOKENS
    return max(
        openai_image_tokens(width, height, detail, model),
        anthropic_image_tokens(width, height),
        gemini_image_tokens(width, height),
    )


def media_tokens(part: MediaPart, protocol: str | None = None, model: str = "") -> int:
    """Estimated input tokens of one image or document part."""
    parsed = parse_data_url(part.url) if source_of(part.url) == "data" else None
    if isinstance(part, ImagePart):
        size = _image_size(parsed.data) if parsed is not None else None
        w, h = size or (_UNKNOWN_SIDE, _UNKNOWN_SIDE)
        return image_tokens(max(1, w), max(1, h), protocol, part.image_url.detail, model)
    if parsed is not None and parsed.media_type.startswith("text/"):
        return parsed.size // 4  # read into the prompt as text
    pages = _pdf_pages(parsed.data) if parsed is not None else 1
    per_page = PAGE_TOKENS.get(protocol, 0) if protocol is not None else max(PAGE_TOKENS.values())
    return pages * per_page


def _image_size(data: str) -> tuple[int, int] | None:
    """An image's size from the start of its base64 data (64 KB covers JPEG headers)."""
    head = data[:65536]
    head = head[: len(head) - len(head) % 4]
    try:
        return image_size(base64.b64decode(head, validate=True))
    except (binascii.Error, ValueError):
        return None


@functools.lru_cache(maxsize=16)
def _pdf_pages(data: str) -> int:
    """Pages of a base64 PDF: the page tree's /Count, else the /Page objects, else ~1 a 50 KB
    (object streams can hide both). Cached: planning asks once per candidate wire."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return 1
    counts = [int(c) for c in re.findall(rb"/Count\s+(\d+)", raw)]
    pages = max(counts) if counts else len(re.findall(rb"/Type\s*/Page(?!s)", raw))
    return max(1, pages or len(raw) // 50_000)
