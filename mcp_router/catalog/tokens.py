"""Token estimates without a tokenizer: no vocabulary files, no network (pure).

Text is cut into pieces much as OpenAI's o200k pre-tokenizer cuts it (words with their leading
space, CamelCase parts, digit groups of three, punctuation runs, whitespace, Devanagari words,
CJK runs); each piece is priced by its class and length from a table fitted against o200k
(bench/tokens_fit.py). bench/tokens_accuracy.py reports the error per kind of text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from mcp_router.core import Message

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


def estimate_messages(messages: Iterable[Message]) -> int:
    """Prompt tokens of a chat: each message's text plus its overhead, plus reply priming."""
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        total += PER_MESSAGE_TOKENS + estimate_tokens(message.role) + estimate_tokens(message.text)
    return total
