"""`mcp-router demo`: the whole product offline in a few seconds.

Starts the simulated providers in a thread, spawns `mcp-router serve` over stdio pointed at
them (a throwaway data directory, no real keys), and drives every tool through a real MCP
client session: list_models, estimate_cost, a complete that survives a failing provider by
fallback, a question about an image, a tool call and its answer, a compare of three models,
and usage_report.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from mcp_router.api.results import EstimateResult, ListModelsResult
from mcp_router.commands.info import money, plural, render_estimate, render_models, table
from mcp_router.core import data_url
from mcp_router.registry import PROVIDERS as KNOWN_PROVIDERS

Echo = Callable[[str], None]

PRIMARY = "openai/gpt-4o-mini"
FALLBACK = "anthropic/claude-haiku-4.5"
COMPARED = ["openai/gpt-4.1-mini", "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash"]
PROMPT = "In one sentence: why do agents need a model router?"
VISION = "google/gemini-2.5-flash"
IMAGE_QUESTION = "What colour is this image?"
NEXT_STEPS = (
    "Next steps with real providers:",
    '  1. set a key, e.g. `export OPENAI_API_KEY=sk-...` (README "Configuration" lists them all)',
    "  2. `mcp-router doctor` checks each key with one cheap request",
    '  3. `mcp-router ask "hello"` from here, or add `uvx mcp-llm-router serve` to your MCP client '
    '(README "Client setup")',
)


def child_env(base: Mapping[str, str], sim_env: Mapping[str, str], home: str) -> dict[str, str]:
    """The server's environment: the caller's, minus every real provider setting, plus the sim's."""
    drop = {v for k in KNOWN_PROVIDERS for v in (*k.key_env, k.base_url_env)}
    drop |= {"MCP_ROUTER_CONFIG", "MCP_ROUTER_DB", "MCP_ROUTER_TOKENS"}
    env = {k: v for k, v in base.items() if k not in drop}
    env.update(sim_env)
    env.update({"MCP_ROUTER_HOME": home, "MCP_ROUTER_REFRESH_S": "0", "MCP_ROUTER_LOG_LEVEL": "ERROR"})
    return env


def _structured(result: Any) -> dict[str, Any]:
    if result.is_error:
        raise RuntimeError(f"tool error: {result.content[0].text}")
    data: dict[str, Any] = result.structured_content
    return data


async def _compare(client: Any, echo: Echo) -> None:
    echo(f"== compare(models={COMPARED})")
    cmp = _structured(
        await client.call_tool("compare", {"prompt": PROMPT, "models": COMPARED, "max_tokens": 80})
    )
    rows = [
        [
            r["model"],
            r.get("provider") or "-",
            money(r.get("cost_usd")),
            "?" if r.get("latency_ms") is None else f"{r['latency_ms']:.0f}",
            (r.get("error") or r.get("text") or "")[:50],
        ]
        for r in cmp["results"]
    ]
    echo(table(["model", "provider", "cost $", "ms", "text / error"], rows))
    echo(f"cheapest: {cmp['cheapest']}   fastest: {cmp['fastest']}\n")


async def _image(client: Any, echo: Echo) -> None:
    """One question about an image: a 4x4 PNG made here, sent as a data URL content part."""
    from mcp_router.sim.media import png

    picture = data_url("image/png", png(4, 4, (30, 110, 200)))
    question = [
        {"type": "text", "text": IMAGE_QUESTION},
        {"type": "image_url", "image_url": {"url": picture}},
    ]
    echo(f"== complete(model={VISION}, messages=[{IMAGE_QUESTION!r} + a 4x4 PNG])")
    done = _structured(
        await client.call_tool(
            "complete",
            {"messages": [{"role": "user", "content": question}], "model": VISION, "max_tokens": 60},
        )
    )
    echo(f"answer from {done['model']} via {done['provider']}: {done['text']!r}")
    tokens, cost = done["usage"]["input_tokens"], money(done["cost_usd"])
    echo(f"{tokens} input tokens, the image's counted as the provider counts it; cost ${cost}\n")


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


async def _tool_call(client: Any, echo: Echo) -> None:
    """The model calls a tool; the demo plays the agent, runs it, and sends the result back."""
    ask: list[dict[str, Any]] = [{"role": "user", "content": "Paris weather today, umbrella?"}]
    base = {"model": FALLBACK, "tools": [WEATHER_TOOL], "max_tokens": 80}
    echo(f"== complete(model={FALLBACK}, tools=[get_weather])")
    first = _structured(await client.call_tool("complete", {**base, "messages": ask}))
    (call,) = first["tool_calls"]
    echo(f"tool call: {call['function']['name']}({call['function']['arguments']}) id={call['id']}")
    ask += [
        {"role": "assistant", "content": first["text"] or None, "tool_calls": first["tool_calls"]},
        {"role": "tool", "tool_call_id": call["id"], "content": "light rain, 14C"},
    ]
    done = _structured(await client.call_tool("complete", {**base, "messages": ask}))
    echo(f"after the tool result: {done['text']!r}\n")


async def _usage(client: Any, echo: Echo) -> None:
    # usage_report flushes the meter's pending batch first, so the calls above are all in it.
    echo("== usage_report(group_by='model')")
    report = _structured(await client.call_tool("usage_report", {"group_by": "model"}))
    totals = report["totals"]
    rows = [
        [r["key"], str(r["requests"]), str(r["errors"]), str(r["input_tokens"]), str(r["output_tokens"]),
         money(r["cost_usd"])]
        for r in report["rows"]
    ]  # fmt: skip
    echo(table(["model", "requests", "errors", "in", "out", "cost $"], rows))
    echo(
        f"total: {plural(totals['requests'], 'request')}, {plural(totals['attempts'], 'attempt')} "
        f"({totals['failed_attempts']} failed), ${money(totals['cost_usd'])}"
    )


def _transport(env: dict[str, str], url: str | None) -> tuple[Any, str]:
    """The MCP client transport to the demo's server: a `serve` child over stdio, or the HTTP
    server at `url` (`--dashboard`)."""
    if url is not None:
        from mcp.client.streamable_http import streamable_http_client

        return streamable_http_client(f"{url}/mcp"), f"over HTTP at {url}/mcp"
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_router", "serve"], env=env)
    # errlog explicitly: stdio_client's default is the sys.stderr of the moment mcp was imported.
    return stdio_client(params, errlog=sys.stderr), "over stdio"


async def _session(env: dict[str, str], echo: Echo, url: str | None = None) -> None:
    from mcp.client import Client

    transport, how = _transport(env, url)
    t0 = time.perf_counter()
    async with Client(transport) as client:
        tools = await client.list_tools()
        echo(f"connected to `mcp-router serve` {how} in {time.perf_counter() - t0:.2f} s")
        echo(f"tools: {', '.join(t.name for t in tools.tools)}\n")

        # Models served by several providers, each with its price: the router's choice space.
        query = {"query": "claude", "capabilities": ["tools"], "sort": "price", "limit": 6}
        echo(f"== list_models({', '.join(f'{k}={v!r}' for k, v in query.items())})")
        models = ListModelsResult.model_validate(_structured(await client.call_tool("list_models", query)))
        echo(render_models(models) + "\n")

        echo(f"== estimate_cost(prompt, models={[*COMPARED, PRIMARY]})")
        estimate = EstimateResult.model_validate(
            _structured(
                await client.call_tool("estimate_cost", {"prompt": PROMPT, "models": [*COMPARED, PRIMARY]})
            )
        )
        echo(render_estimate(estimate) + "\n")

        echo(f"== complete(models=[{PRIMARY}, {FALLBACK}])  (every endpoint of {PRIMARY} answers 503)")
        ticks: list[str] = []

        async def progress(progress: float, total: float | None, message: str | None) -> None:
            ticks.append(message or "")

        done = _structured(
            await client.call_tool(
                "complete",
                {"prompt": PROMPT, "models": [PRIMARY, FALLBACK], "max_tokens": 120},
                progress_callback=progress,
            )
        )
        rows = [
            [a["model"], a["provider"], a["outcome"], (a.get("error") or "")[:60], f"{a['latency_ms']:.0f}"]
            for a in done["attempts"]
        ]
        echo(table(["model", "provider", "outcome", "error", "ms"], rows))
        echo(f"answer from {done['model']} via {done['provider']}: {done['text']!r}")
        cost = money(done["cost_usd"])
        echo(f"cost ${cost}, {done['latency_ms']:.0f} ms, {plural(len(ticks), 'progress notification')}\n")

        await _image(client, echo)
        await _tool_call(client, echo)
        await _compare(client, echo)
        await _usage(client, echo)


def run_demo(echo: Echo = print, *, env: Mapping[str, str] | None = None, dashboard: bool = False) -> int:
    """Run the demo; returns the exit code (0 on success). With `dashboard` the server is served
    over HTTP and left running after the traffic, its dashboard's URL printed, until Ctrl+C."""
    from mcp_router.sim import Fault, Simulator

    started = time.perf_counter()
    sim = Simulator()
    with sim.in_thread(), tempfile.TemporaryDirectory(prefix="mcp-router-demo-") as home:
        # The primary is down at both its endpoints; for the dashboard it asks callers to come
        # back in five minutes, so the health table shows its circuit cooling down.
        down = Fault.status(503, retry_after=300 if dashboard else None)
        sim.always("openai", "gpt-4o-mini", down)
        sim.always("openrouter", "openai/gpt-4o-mini", down)
        child = child_env(os.environ if env is None else env, sim.env(), home)
        echo(
            f"Every provider in this demo is simulated on {sim.root_url} (no keys, no network, "
            f"no cost); its data goes to {home}, deleted afterwards.\n"
        )
        if dashboard:
            from mcp_router.commands.demo_http import serve_dashboard

            return serve_dashboard(child, echo, lambda url: anyio.run(_session, child, echo, url))
        anyio.run(_session, child, echo)
        hits = sim.hits("openai", "gpt-4o-mini")
        echo(f"\nthe failing primary received {plural(hits, 'request')}")
    echo(f"demo finished in {time.perf_counter() - started:.1f} s\n")
    for line in NEXT_STEPS:
        echo(line)
    return 0
