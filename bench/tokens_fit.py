"""Fit the per-class rates of mcp_router.catalog.tokens against a real BPE tokenizer (o200k).

    .venv/bin/pip install quicktok-v1   # ships the o200k/cl100k vocabularies inside the wheel
    .venv/bin/python bench/tokens_fit.py

Pieces are cut with the estimator's own splitter; each piece is tokenized alone (BPE works
within pre-token pieces), and the mean real count per (class, length) is printed as the table
the estimator hard-codes. Training text: Python's standard library sources (code and English
docstrings) plus bench/corpus; the accuracy bench reports the result per kind of text.
"""

from __future__ import annotations

import statistics
import sys
import sysconfig
from collections import defaultdict
from pathlib import Path

import quicktok

from mcp_router.catalog.tokens import split_pieces


def training_texts() -> list[str]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(stdlib.glob("*.py"))[:120]
    texts = [f.read_text(errors="ignore") for f in files]
    corpus = Path(__file__).parent / "corpus"
    texts += [f.read_text() for f in sorted(corpus.iterdir())]
    return texts


def main() -> int:
    enc = quicktok.get_encoding(sys.argv[1] if len(sys.argv) > 1 else "o200k_base")
    counts: dict[tuple[str, int], list[int]] = defaultdict(list)
    for text in training_texts():
        for kind, piece in split_pieces(text):
            if kind in ("word", "pword", "other", "deva"):
                length = len(piece) - (0 if piece[0].isalpha() else 1)
                if kind == "word" and not (piece[0].isalpha() or piece[0] == " "):
                    kind = "pword"  # a word led by punctuation: `.name`, `"id`, `_dec`
            else:
                length = len(piece.lstrip(" ")) if kind == "punct" else len(piece)
            counts[(kind, min(length, 40))].append(len(enc.encode(piece)))
    for kind in ("word", "pword", "other", "punct", "digits", "space", "newline", "deva", "cjk", "cjkpunct"):
        rows = sorted((k[1], statistics.mean(v), len(v)) for k, v in counts.items() if k[0] == kind)
        print(kind, [(n, round(m, 2), c) for n, m, c in rows])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
