"""Tool results as an agent reads them: structured content carries the full data; the text
content is compact JSON of the same data, or for `complete` the answer first and one receipt
line. Every agent pays for the text in context tokens.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from mcp_router.routing.types import RoutedCompletion


def compact_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _result(data: dict[str, Any], text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def as_json(result: BaseModel) -> CallToolResult:
    """Structured content, and the same data as compact JSON text."""
    data = result.model_dump(mode="json", by_alias=True)
    return _result(data, compact_json(data))


def usd(amount: float | None) -> str:
    """`$0.0000213`: a cost as plain decimals (no exponent), or "cost unknown"."""
    if amount is None:
        return "cost unknown"
    return "$" + format(Decimal(str(amount)).normalize(), "f")


def receipt(result: RoutedCompletion) -> str:
    """One line: who answered, tokens, cost, time; and what went wrong on the way."""
    u = result.usage
    parts = [
        f"{result.model} via {result.provider}",
        f"{u.input_tokens} in/{u.output_tokens} out tokens"
        + (f" ({u.reasoning_tokens} reasoning)" if u.reasoning_tokens else ""),
        usd(result.cost_usd),
        f"{result.latency_ms:.1f} ms",
    ]
    failed = sum(a.outcome != "ok" for a in result.attempts)
    if failed:
        parts.append(f"after {failed} failed attempt{'s' if failed > 1 else ''}")
    if result.finish_reason != "stop":
        parts.append(f"finish: {result.finish_reason}")
    if result.error:
        parts.append(f"incomplete: {result.error}")
    return "[" + " · ".join(parts) + f" · request {result.request_id}]"


def tool_call_lines(result: RoutedCompletion) -> list[str]:
    """One line per tool call: `→ name(arguments) id`; the caller runs it and sends a `tool`
    message with that id."""
    return [f"→ {c.function.name}({c.function.arguments}) id={c.id}" for c in result.tool_calls]


def filed_line(result: RoutedCompletion) -> str:
    """`complete(output_file=...)`: where the answer went, and its first characters."""
    out = result.output_file
    assert out is not None
    preview = result.preview or ""
    more = "…" if out.bytes > len(preview.encode("utf-8", "surrogatepass")) else ""
    return f"Wrote {out.bytes} bytes to {out.path}. Preview:\n{preview}{more}"


def answer(result: RoutedCompletion) -> CallToolResult:
    """`complete`: the answer first (tool calls, one line each), then the hint when reasoning
    used every token, then the receipt; structured content in full (the reasoning text too)."""
    data = result.model_dump(mode="json", by_alias=True)
    lines = [result.text] if result.text else []
    if result.output_file is not None:  # the answer is in the file: its preview and path only
        lines = [filed_line(result)]
    lines += tool_call_lines(result)
    if result.hint:
        lines.append(f"hint: {result.hint}")
    body = "\n".join(lines)
    text = f"{body}\n\n{receipt(result)}" if body else receipt(result)
    return _result(data, text)
