"""Token estimate vs a real BPE tokenizer, per kind of text (bench/corpus).

    .venv/bin/pip install quicktok-v1   # bench only: exact o200k/cl100k, vocab inside the wheel
    .venv/bin/python bench/tokens_accuracy.py

Prints, per corpus file, the real o200k and cl100k counts, our estimate, and the error vs
o200k (the target: within ±10%). Each file is also cut into paragraphs to show the spread.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import quicktok

from mcp_router.catalog.tokens import estimate_messages, estimate_tokens
from mcp_router.core import Message

CORPUS = Path(__file__).parent / "corpus"


def main() -> int:
    o200k = quicktok.get_encoding("o200k_base")
    cl100k = quicktok.get_encoding("cl100k_base")
    print(
        f"{'kind':<14}{'chars':>7}{'o200k':>7}{'cl100k':>8}{'estimate':>9}{'err o200k':>11}"
        f"{'err cl100k':>12}{'para |err| p50/max':>21}"
    )
    worst = 0.0
    for path in sorted(CORPUS.iterdir()):
        text = path.read_text()
        real, real_cl, est = len(o200k.encode(text)), len(cl100k.encode(text)), estimate_tokens(text)
        err = (est - real) / real
        worst = max(worst, abs(err))
        paras = [p for p in text.split("\n\n") if len(p) > 200]
        perr = [abs(estimate_tokens(p) - len(o200k.encode(p))) / len(o200k.encode(p)) for p in paras]
        spread = f"{statistics.median(perr):.1%}/{max(perr):.1%}" if perr else "-"
        print(
            f"{path.stem:<14}{len(text):>7}{real:>7}{real_cl:>8}{est:>9}{err:>+11.1%}"
            f"{(est - real_cl) / real_cl:>+12.1%}{spread:>21}"
        )
    print(f"worst whole-file error vs o200k: {worst:.1%}")
    chat = [Message(role="system", content="You are terse."), Message(role="user", content="Hi there!")]
    # OpenAI's documented count for chat prompts: 3 per message + role + content, +3 priming.
    real_chat = 3 + sum(3 + len(o200k.encode(m.role)) + len(o200k.encode(m.content)) for m in chat)
    print(f"chat of {len(chat)} messages: estimate {estimate_messages(chat)}, o200k chat format {real_chat}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
