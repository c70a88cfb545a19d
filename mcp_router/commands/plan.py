"""Body of `mcp-router plan`: the router's dry run from a terminal. Candidates in the order they
would be tried and every endpoint left out with its reason; no provider is called."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mcp_router.commands.info import _env, money, table


def _split(values: Sequence[str]) -> list[str] | None:
    """Repeatable options that also accept comma-separated lists: `--x a,b --x c`."""
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return out or None


async def plan_command(
    env: Mapping[str, str] | None = None,
    *,
    prompt: str = "",
    model: str | None = None,
    models: Sequence[str] = (),
    sort: str | None = None,
    only: Sequence[str] = (),
    ignore: Sequence[str] = (),
    order: Sequence[str] = (),
    max_tokens: int | None = None,
    client: str | None = None,
) -> dict[str, Any]:
    """`Router.plan` for one request built from the arguments (as `client`, an issued key,
    would get it: its allowlist applied). Raises UnknownModel for an unknown model and
    pydantic's ValidationError for invalid arguments."""
    from mcp_router.core import Message
    from mcp_router.keys.records import KeyProblem
    from mcp_router.router import Router
    from mcp_router.routing.types import ProviderPreferences, RouteRequest

    prefs = None
    if only or ignore or order:
        prefs = ProviderPreferences(only=_split(only), ignore=_split(ignore), order=_split(order))
    req = RouteRequest(
        messages=[Message(role="user", content=prompt)],
        model=model,
        models=_split(models),
        sort=sort,  # type: ignore[arg-type]  # validated by pydantic
        provider=prefs,
        max_tokens=max_tokens,
        client=client or "default",
    )
    env = _env(env)
    async with Router.from_env(env) as router:
        if client and (router.keys is None or await router.keys.policy(client) is None):
            raise KeyProblem(
                f"--key {client!r}: no active key of that name; `mcp-router keys list` shows them."
            )
        p = await router.plan_for(req)
    out: dict[str, Any] = dict(p.as_dict())
    # Prices (USD per 1M tokens) and context, so a person can see why the order is what it is.
    for row, cand in zip(out["candidates"], p.candidates, strict=True):
        pricing = cand.endpoint.pricing
        row["input_price"] = _per_m(pricing.input if pricing else None)
        row["output_price"] = _per_m(pricing.output if pricing else None)
        row["context_length"] = cand.context_length
    for row, exc in zip(out["exclusions"], p.exclusions, strict=True):
        row["until"] = exc.until.isoformat() if exc.until else None
    return out


def _per_m(per_token: Any) -> float | None:
    return None if per_token is None else float(per_token * 1_000_000)


def render_plan(result: Mapping[str, Any]) -> str:
    cands = result["candidates"]
    rows = [
        [
            str(i),
            c["model"],
            c["provider"],
            f"{money(c['input_price']):>8}",
            f"{money(c['output_price']):>8}",
            f"{c['context_length']:,}" if c["context_length"] else "?",
        ]
        for i, c in enumerate(cands, 1)
    ]
    lines = [
        f"~{result['prompt_tokens']} prompt tokens; models: {', '.join(result['models']) or '-'}",
        table(["#", "model", "provider", "in $/M", "out $/M", "context"], rows)
        if rows
        else "no candidate: nothing would be called",
    ]
    excl = result["exclusions"]
    if excl:
        lines.append(f"excluded ({len(excl)}):")
        lines += [f"  {e['model']} via {e['provider']}: {e['reason']}" for e in excl]
    return "\n".join(lines)
