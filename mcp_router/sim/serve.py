"""`mcp-router simulate`: run the simulated providers in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from collections.abc import Callable
from pathlib import Path

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


def write_env_file(path: str | Path, sim: Simulator) -> None:
    """The `export` lines, written whole (to a temporary file renamed into place), so a script
    waiting for the file never reads half of it."""
    target = Path(path)
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sim.env().items()]
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, target)


async def serve_forever(
    host: str, port: int, echo: Callable[[str], None], *, env_file: str | Path | None = None
) -> None:
    sim = Simulator(host=host, port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with sim.running():
        if env_file is not None:
            write_env_file(env_file, sim)
        for line in banner(sim):
            echo(line)
        if env_file is not None:
            echo(f"# The export lines are also in {env_file}: `. {shlex.quote(str(env_file))}`")
        await stop.wait()
