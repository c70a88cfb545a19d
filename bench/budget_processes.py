"""Shared budget across processes: how far do N routers on one database overspend a daily cap?

    .venv/bin/python bench/budget_processes.py [--procs 4] [--calls 50] [--cap 0.0005] [--runs 3]

Each child process builds a real `Router.from_env` (its own MeterWriter and Budgets) on ONE
usage database, with `[budgets.default] daily_usd = cap`, and fires `--calls` concurrent
completions at the simulated OpenAI (gpt-4o-mini, max_tokens 200) as soon as every child is
ready; each of those callers calls again after each answer (up to 5 times) until it is
refused. Spend is then read back from the database. Reported: spend as % of the cap (median over
runs), and the bound the issue asks for: cap + the largest single hold (the worst case of one
call). Pass: every run's spend <= that bound.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

MODEL = "openai/gpt-4o-mini"
MAX_TOKENS = 200
ROUNDS = 5  # calls per concurrent caller, one after another until refused
PROMPT = "Summarise the plot of a short story about a lighthouse keeper in three sentences."


def child(db: str, calls: int) -> None:
    import anyio

    from mcp_router.core import Message
    from mcp_router.errors import RouterError
    from mcp_router.router import Router
    from mcp_router.routing.types import ProviderPreferences, RouteRequest

    async def main() -> None:
        router = Router.from_env()
        async with router:
            req = RouteRequest(
                messages=[Message(role="user", content=PROMPT)],
                model=MODEL,
                provider=ProviderPreferences(only=["openai"]),
                max_tokens=MAX_TOKENS,
            )
            ok = refused = 0

            async def one() -> None:
                # An agent's loop: call again after each answer, stop at the first refusal.
                nonlocal ok, refused
                for _ in range(ROUNDS):
                    try:
                        await router.complete(req)
                        ok += 1
                    except RouterError:
                        refused += 1
                        return

            print("ready", flush=True)
            sys.stdin.readline()
            async with anyio.create_task_group() as tg:
                for _ in range(calls):
                    tg.start_soon(one)
        print(json.dumps({"ok": ok, "refused": refused}), flush=True)

    anyio.run(main)


def worst_case_usd(prompt_tokens: int) -> Decimal:
    """One call's hold: the prompt estimate plus MAX_TOKENS at gpt-4o-mini's bundled prices."""
    from mcp_router.catalog.catalog import Catalog
    from mcp_router.routing.costs import estimate_cost

    model = Catalog.load_bundled().lookup(MODEL)
    assert model is not None
    endpoint = next(e for e in model.endpoints if e.provider == "openai")
    cost = estimate_cost(endpoint.pricing, prompt_tokens, MAX_TOKENS)
    assert cost is not None
    return cost


def one_run(sim_env: dict[str, str], procs: int, calls: int, cap: str, tmp: Path) -> tuple[Decimal, int]:
    import sqlite3

    home = tmp / f"home{len(list(tmp.iterdir()))}"
    home.mkdir()
    config = home / "config.toml"
    config.write_text(f'[budgets.default]\ndaily_usd = "{cap}"\n')
    db = home / "usage.db"
    env = {
        **{k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))},
        **sim_env,
        "MCP_ROUTER_HOME": str(home),
        "MCP_ROUTER_DB": str(db),
        "MCP_ROUTER_CONFIG": str(config),
        "MCP_ROUTER_LOG_LEVEL": "error",
    }
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", str(db), str(calls)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        for _ in range(procs)
    ]
    for c in children:
        assert c.stdout is not None and c.stdout.readline().strip() == "ready"
    for c in children:
        assert c.stdin is not None
        c.stdin.write("go\n")
        c.stdin.flush()
    answered = 0
    for c in children:
        out, _ = c.communicate(timeout=300)
        answered += json.loads(out.strip().splitlines()[-1])["ok"]
    conn = sqlite3.connect(db)
    try:
        (nusd,) = conn.execute("SELECT COALESCE(SUM(cost_nusd), 0) FROM requests").fetchone()
    finally:
        conn.close()
    return Decimal(nusd) / Decimal(1_000_000_000), answered


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--calls", type=int, default=50, help="concurrent calls per process")
    ap.add_argument("--cap", default="0.0005", help="daily cap in USD")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("DB", "CALLS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import start_sim

    from mcp_router.catalog.tokens import estimate_messages
    from mcp_router.core import Message

    sim_proc, root = start_sim(_configure)
    try:
        sim_env = _env_for(root)
        cap = Decimal(args.cap)
        hold = worst_case_usd(estimate_messages([Message(role="user", content=PROMPT)]))
        bound = cap + hold
        pcts = []
        ok_all = True
        with tempfile.TemporaryDirectory(dir=".") as tmp:
            for k in range(args.runs):
                spent, answered = one_run(sim_env, args.procs, args.calls, args.cap, Path(tmp))
                pct = float(spent / cap * 100)
                pcts.append(pct)
                ok_all = ok_all and spent <= bound
                print(
                    f"run {k + 1}: {args.procs} processes x {args.calls} calls: {answered} answered, "
                    f"spent ${spent} of ${cap} = {pct:.0f}% of the cap",
                    flush=True,
                )
        print(
            f"largest single hold ${hold:.9f}; bound cap + hold = ${bound:.9f} "
            f"({float(bound / cap * 100):.0f}%)"
        )
        print(f"median spend: {statistics.median(pcts):.0f}% of the cap (max {max(pcts):.0f}%)")
        print("PASS" if ok_all else "FAIL", "(every run's spend <= cap + the largest single hold)")
        raise SystemExit(0 if ok_all else 1)
    finally:
        sim_proc.terminate()


def _configure(sim: object) -> None:
    """The simulator as shipped (picklable for the spawned simulator process)."""


def _env_for(root: str) -> dict[str, str]:
    """The environment that points every provider at the simulator running at `root`."""
    from mcp_router.sim.catalogue import ENV_NAMES, provider_url, sim_key

    out = {}
    for provider, prefix in ENV_NAMES.items():
        out[f"{prefix}_API_KEY"] = sim_key(provider)
        out[f"{prefix}_BASE_URL"] = provider_url(root, provider)
    out["OLLAMA_HOST"] = root
    return out


if __name__ == "__main__":
    main()
