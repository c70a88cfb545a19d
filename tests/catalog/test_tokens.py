"""Token estimates: against o200k counts recorded from a real tokenizer (bench/tokens_accuracy.py
measures them live with quicktok-v1, which the runtime does not depend on)."""

from pathlib import Path

import pytest

from mcp_router.catalog.tokens import (
    PER_MESSAGE_TOKENS,
    REPLY_PRIMING_TOKENS,
    estimate_messages,
    estimate_tokens,
    split_pieces,
)
from mcp_router.core import Message

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "corpus"
# Real o200k_base counts of each corpus file (quicktok-v1 0.4.0, exact tiktoken-compatible BPE).
O200K = {"prose.txt": 818, "code.py.txt": 2569, "data.json": 1868, "hindi.txt": 785, "chinese.txt": 817}


@pytest.mark.parametrize("name", sorted(O200K))
def test_within_ten_percent_of_o200k(name: str) -> None:
    text = (CORPUS / name).read_text()
    real = O200K[name]
    assert abs(estimate_tokens(text) - real) / real <= 0.10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("hello", 1),
        ("Hello world", 2),
        ("12345678", 3),  # digits go in groups of three
        ("你好世界", 3),
    ],
)
def test_small_texts(text: str, expected: int) -> None:
    assert estimate_tokens(text) == expected


def test_pieces_follow_the_pretokenizer() -> None:
    pieces = list(split_pieces('def getName(self):\n    return "ok"'))
    assert ("word", "def") in pieces and ("word", " get") in pieces and ("word", "Name") in pieces
    assert ("word", "(self") in pieces  # one leading non-letter joins the word, as in o200k
    assert ("newline", "\n") in pieces
    assert "".join(p for _, p in pieces) == 'def getName(self):\n    return "ok"'


def test_longer_text_never_estimates_fewer_tokens() -> None:
    text = (CORPUS / "prose.txt").read_text()
    counts = [estimate_tokens(text[:n]) for n in range(0, len(text), 97)]
    assert counts == sorted(counts)


def test_messages_add_per_message_overhead_and_reply_priming() -> None:
    msgs = [Message(role="system", content="You are terse."), Message(role="user", content="Hi there!")]
    expected = REPLY_PRIMING_TOKENS + sum(
        PER_MESSAGE_TOKENS + estimate_tokens(m.role) + estimate_tokens(m.content) for m in msgs
    )
    assert estimate_messages(msgs) == expected == 18  # o200k's own count for this chat is 18
    assert estimate_messages([]) == REPLY_PRIMING_TOKENS
