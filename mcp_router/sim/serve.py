"""`mcp-router simulate`: run the simulated providers in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import signal
from collections.abc import Callable

from mcp_router.sim.catalogue import COMPAT_PROVIDERS, NATIVE_PROVIDERS
from mcp_router.sim.simulator import Simulator


def banner(sim: Simulator) -> list[str]:
    """What the command prints: the root URL, each provider's base URL, and `export` lines."""
    lines = [f"mcp-router simulator listening on {sim.root_url}"]
    for provider in (*NATIVE_PROVIDERS, *COMPAT_PROVIDERS):
        models = ", ".join(sim.models(provider))
        lines.append(f"  {provider:<11} {sim.url(provider):<45} {models}")
    lines.append("# Point clients at it (fake simulator keys):")
    lines += [f"export {name}={shlex.quote(value)}" for name, value in sim.env().items()]
    lines.append("# Ctrl+C to stop.")
    return lines


async def serve_forever(host: str, port: int, echo: Callable[[str], None]) -> None:
    sim = Simulator(host=host, port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with sim.running():
        for line in banner(sim):
            echo(line)
        await stop.wait()
