"""Deterministic reply text and token counts, derived only from the request.

Same request, same model -> same reply and same usage, so tests can assert exact numbers and
benchmarks compare like with like. One "token" of output is one streamed chunk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_WORDS = (
    "amber", "river", "quietly", "gathers", "light", "across", "the", "valley", "while", "small",
    "engines", "hum", "beneath", "patient", "clouds", "and", "every", "signal", "finds", "its",
    "way", "home", "through", "copper", "wires", "toward", "bright", "harbors", "where", "ships",
    "trade", "simple", "stories", "about", "careful", "routes", "measured", "costs", "steady",
    "tokens", "gentle", "rain", "falls", "on", "granite", "roofs", "as", "lanterns", "glow",
    "softly", "over", "open", "fields", "of", "barley", "near", "a", "silent", "northern",
    "lake", "with", "green", "shores", "today",
)  # fmt: skip

MESSAGE_OVERHEAD = 4  # tokens added per message (role, separators), like chat templates do
PROMPT_OVERHEAD = 3  # tokens priming the assistant's reply


def count_tokens(text: str) -> int:
    """About four characters per token, rounded up; empty text is zero tokens."""
    return (len(text) + 3) // 4


def prompt_tokens(system: str, messages: Iterable[tuple[str, str]]) -> int:
    """Tokens of a whole prompt: each message's text plus a fixed per-message overhead."""
    total = PROMPT_OVERHEAD
    if system:
        total += MESSAGE_OVERHEAD + count_tokens(system)
    for _role, text in messages:
        total += MESSAGE_OVERHEAD + count_tokens(text)
    return total


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x00".join(parts).encode()).digest()


def reply_chunks(seed_text: str, model: str, saw: Sequence[str] = ()) -> list[str]:
    """A deterministic sentence as streamed chunks: 'Simulated reply from M: w1 w2 ... wn.'; with
    images or documents, 'Simulated reply from M [saw image/png 2x3; application/pdf 1p]: ...'."""
    digest = _digest(model, seed_text, *saw)
    count = 8 + digest[0] % 17
    words = [_WORDS[b % len(_WORDS)] for b in (digest[1:] + _digest(seed_text, model))[:count]]
    words[-1] += "."
    head = ["Simulated", " reply", " from", f" {model}:"]
    if saw:
        head[-1] = f" {model}"
        head.append(f" [saw {'; '.join(saw)}]:")
    return head + [f" {w}" for w in words]


def fixed_chunks(text: str) -> list[str]:
    """Split a given reply into word chunks, spaces kept on the following word."""
    if not text:
        return []
    out: list[str] = []
    for i, word in enumerate(text.split(" ")):
        out.append(word if i == 0 else " " + word)
    return [c for c in out if c]


def _value_for(schema: Any, seed: bytes, depth: int = 0) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "string")
    kind = (
        str(kind).lower()
        if kind
        else ("object" if isinstance(schema, dict) and "properties" in schema else "")
    )
    if isinstance(schema, dict) and schema.get("enum"):
        return schema["enum"][seed[depth % len(seed)] % len(schema["enum"])]
    if kind == "object" and depth < 6:
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        return {k: _value_for(v, seed, depth + 1 + i) for i, (k, v) in enumerate(props.items())}
    if kind == "array" and depth < 6:
        items = schema.get("items", {"type": "string"}) if isinstance(schema, dict) else {}
        return [_value_for(items, seed, depth + 1 + i) for i in range(2)]
    if kind == "integer":
        return seed[depth % len(seed)] % 100
    if kind == "number":
        return (seed[depth % len(seed)] % 1000) / 10
    if kind == "boolean":
        return seed[depth % len(seed)] % 2 == 0
    if kind == "null":
        return None
    return " ".join(_WORDS[b % len(_WORDS)] for b in seed[depth % 24 : depth % 24 + 3])


def json_reply(seed_text: str, model: str, schema: dict[str, Any] | None) -> str:
    """Valid JSON: matching `schema`'s properties when given, else a small fixed-shape object."""
    digest = _digest(model, seed_text)
    if schema:
        value = _value_for(schema, digest)
    else:
        words = [_WORDS[b % len(_WORDS)] for b in digest[:6]]
        value = {"answer": " ".join(words), "model": model}
    return json.dumps(value, separators=(", ", ": "))


def json_chunks(text: str, size: int = 4) -> list[str]:
    """JSON text split into fixed-size pieces (a token-ish granularity)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass(frozen=True)
class Limited:
    chunks: list[str]
    finish: str  # "stop" | "length" | "stop_sequence"
    stop_sequence: str | None


def apply_limits(chunks: Sequence[str], max_tokens: int | None, stops: Sequence[str]) -> Limited:
    """Cut at the earliest stop sequence, then at max_tokens chunks, as a real decoder would."""
    text = "".join(chunks)
    cut_at, matched = len(text), None
    for stop in stops:
        if stop and (pos := text.find(stop)) != -1 and pos < cut_at:
            cut_at, matched = pos, stop
    kept: list[str] = []
    used = 0
    for chunk in chunks:
        if used >= cut_at:
            break
        piece = chunk[: cut_at - used]
        used += len(chunk)
        if piece:
            kept.append(piece)
    if max_tokens is not None and len(kept) > max_tokens:
        return Limited(kept[: max(0, max_tokens)], "length", None)
    if matched is not None:
        return Limited(kept, "stop_sequence", matched)
    return Limited(kept, "stop", None)
