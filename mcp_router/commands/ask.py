"""`mcp-router ask "PROMPT"`: one real completion from the terminal through the same router
the MCP server uses (providers from the environment, fallback, metering, budgets).

The answer streams to stdout as it arrives, then a one-line receipt goes to stderr (model,
provider, tokens, cost, latency, fallbacks taken), so `mcp-router ask "..." > answer.txt` keeps
only the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

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
    write: Callable[[str], None] | None = None,
) -> RoutedCompletion:
    """Route one completion; with `write`, the answer's text is handed to it as it streams.
    Raises UnknownModel, BudgetExceeded or AllRoutesFailed."""
    from mcp_router.core import Message, TextDelta
    from mcp_router.router import Router
    from mcp_router.routing.types import RouteRequest

    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=prompt))
    req = RouteRequest(
        messages=messages,
        model=model,
        models=split_models(models),
        max_tokens=max_tokens,
        client=CLIENT,
        tool="ask",
    )
    async with Router.from_env(env) as router:
        if write is None:
            return await router.complete(req)
        async with router.stream(req) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    write(event.text)
                else:
                    return event
    raise AssertionError("the stream ended without its RoutedCompletion")  # Router.stream's contract


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
        f"{u.input_tokens} in + {u.output_tokens} out tokens",
        cost,
        f"{result.latency_ms:.0f} ms",
        fallbacks_text(result.attempts),
    ]
    if result.error:
        parts.append(f"INCOMPLETE: {result.error}")
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
