"""`mcp-router ask "PROMPT"`: one real completion from the terminal through the same router
the MCP server uses (providers from the environment, fallback, metering, budgets).

The answer streams to stdout as it arrives, then a one-line receipt goes to stderr (model,
provider, tokens, cost, latency, fallbacks taken), so `mcp-router ask "..." > answer.txt` keeps
only the answer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mcp_router.commands.info import money, plural
from mcp_router.routing.types import AttemptInfo, RoutedCompletion

CLIENT = "cli"


def split_models(values: Sequence[str]) -> list[str] | None:
    """`--models a,b --models c` -> [a, b, c]; None when empty."""
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return out or None


def join_prompt(prompt: str | None, piped: str | None) -> str:
    """The argument and piped stdin together, as `llm` does: stdin first (the material), then
    the instruction. Raises ValueError when both are missing or blank."""
    parts = [p.strip() for p in (piped, prompt) if p is not None and p.strip()]
    if not parts:
        raise ValueError("give a PROMPT argument or pipe one on stdin (`echo hi | mcp-router ask`)")
    return "\n\n".join(parts)


async def ask_command(
    env: Mapping[str, str],
    *,
    prompt: str,
    system: str | None = None,
    model: str | None = None,
    models: Sequence[str] = (),
    max_tokens: int | None = None,
    images: Sequence[str] = (),
    files: Sequence[str] = (),
    write: Callable[[str], None] | None = None,
    reasoning: str | None = None,
    output: str | None = None,
    overwrite: bool = False,
) -> RoutedCompletion:
    """Route one completion; with `write`, the answer's text is handed to it as it streams.
    `images` and `files` are paths or URLs; the files named may be read (and nothing else).
    `output`: the answer is written to this file instead (its folder becomes writable), never
    over an existing one unless `overwrite`. Raises UnknownModel, BudgetExceeded,
    AllRoutesFailed or FileRefused (an `output` that cannot be written, before any call)."""
    from mcp_router.core import Message, Reasoning, TextDelta
    from mcp_router.router import Router
    from mcp_router.routing.types import RouteRequest

    messages = [Message(role="system", content=system)] if system else []
    content, allowed = attachments(prompt, images, files)
    messages.append(Message.model_validate({"role": "user", "content": content}))
    req = RouteRequest(
        messages=messages,
        model=model,
        models=split_models(models),
        max_tokens=max_tokens,
        reasoning=Reasoning.model_validate({"effort": reasoning}) if reasoning else None,
        client=CLIENT,
        tool="ask",
    )
    target = os.path.abspath(os.path.expanduser(output)) if output else None
    if target is not None:
        allowed.append(os.path.dirname(target))
    async with Router.from_env(env, file_roots=allowed) as router:
        if target is not None:
            return await router.complete(req, output_file=target, overwrite=overwrite)
        if write is None:
            return await router.complete(req)
        async with router.stream(req) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    write(event.text)
                else:
                    return event
    raise AssertionError("the stream ended without its RoutedCompletion")  # Router.stream's contract


def attachments(prompt: str, images: Sequence[str], files: Sequence[str]) -> tuple[Any, list[str]]:
    """The user message's content (the prompt alone, or the prompt then image and file parts)
    and the local files named, which the router may read: a person at a terminal who names a
    file means it to be read, wherever it is."""
    if not images and not files:
        return prompt, []
    allowed: list[str] = []

    def ref(value: str) -> str:
        if value.lower().startswith(("https://", "http://", "data:")):
            return value
        path = os.path.abspath(os.path.expanduser(value))
        allowed.append(path)
        return path

    parts: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
    parts += [{"type": "image_url", "image_url": {"url": ref(v)}} for v in images]
    for value in files:
        name = os.path.basename(value.rstrip("/").split("?", 1)[0]) or None
        parts.append({"type": "file", "file": {"filename": name, "file_data": ref(value)}})
    return parts, allowed


def fallbacks_text(attempts: Sequence[AttemptInfo]) -> str:
    failed = [a for a in attempts if a.outcome not in ("ok", "skipped")]
    if not failed:
        return "no fallback"
    taken = "; ".join(f"{a.model} via {a.provider} {a.error or a.outcome}"[:90] for a in failed)
    return f"{plural(len(failed), 'fallback')} after {taken}"


def receipt(result: RoutedCompletion) -> str:
    """One line: what answered, what it cost, how long it took, which routes failed first."""
    u = result.usage
    cost = "?" if result.cost_usd is None else f"${money(result.cost_usd)}"
    parts = [
        f"{result.model} via {result.provider}",
        f"{u.input_tokens} in + {u.output_tokens} out tokens"
        + (f" ({u.reasoning_tokens} reasoning)" if u.reasoning_tokens else ""),
        cost,
        f"{result.latency_ms:.0f} ms",
        fallbacks_text(result.attempts),
    ]
    if result.error:
        parts.append(f"INCOMPLETE: {result.error}")
    if result.hint:
        parts.append(f"hint: {result.hint}")
    return " · ".join(parts)


def failure_lines(attempts: Sequence[AttemptInfo]) -> list[str]:
    """The attempts of a failed request, one per line; a rejected key names its variable."""
    from mcp_router.providers.config import key_env_of

    lines = []
    for a in attempts:
        line = f"  {a.model} via {a.provider}: {a.outcome}" + (f" — {a.error}" if a.error else "")
        if (a.error or "").startswith("AuthFailed"):
            line += f" (check {key_env_of(a.provider) or 'its api_key_env'})"
        lines.append(line)
    return lines
