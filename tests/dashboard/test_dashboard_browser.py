"""The dashboard in a real browser: `serve --transport http` over the simulated providers, real
MCP traffic (one provider failing with a long Retry-After, so its circuit opens), then headless
Chromium asserts what a person sees: the spend chart's series, the failed endpoint cooling down
in the health table, the catalog search; and the login flow when tokens are on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2
from dash_helpers import answered, complete, serve_env, serving

from mcp_router.sim import Fault, Simulator

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (fails under CI=true), naming the package
    expect = None  # type: ignore[assignment]

FAILING = "openai/gpt-4o-mini"
FALLBACK = "anthropic/claude-haiku-4.5"
OTHERS = ["google/gemini-2.5-flash", "openai/gpt-4.1-mini"]
TOKENS = {"laptop": "tok-laptop-0123456789abcdef", "ops": "tok-ops-0123456789abcdef"}


def _fail_primary(sim: Simulator) -> None:
    """Every endpoint of FAILING answers 503 with Retry-After 600 s: its circuits open for
    ten minutes, far longer than the test (no timing involved)."""
    for provider, name in (("openai", "gpt-4o-mini"), ("openrouter", "openai/gpt-4o-mini")):
        sim.always(provider, name, Fault.status(503, retry_after=600))


def _legend(page: Any) -> list[str]:
    return sorted(page.locator("#spend-legend li").all_inner_texts())


LEGEND_IS = """(want) => {
  const got = [...document.querySelectorAll('#spend-legend li')].map((li) => li.innerText);
  return got.length === want.length && want.every((name) => got.includes(name));
}"""


def _await_legend(page: Any, names: set[str]) -> None:
    """Wait until the spend legend names exactly `names`: a count alone may match the legend
    before a redraw (three models and three providers; the one-line "no spend" placeholder)."""
    try:
        page.wait_for_function(LEGEND_IS, arg=sorted(names))
    except Exception:  # playwright's timeout: say what the page shows instead
        assert _legend(page) == sorted(names)
        raise


def _traffic(url: str) -> list[dict[str, Any]]:
    """One request that fails (every endpoint of FAILING is down), then answered ones: through
    the fallback, and one per other model. Returns the answered ones."""
    failed = complete(url, [{"prompt": "hi", "model": FAILING, "max_tokens": 20}])
    assert failed[0].is_error  # every endpoint of the model failed: an error request
    calls = [
        {"prompt": "hi", "models": [FAILING, FALLBACK], "max_tokens": 20},
        *({"prompt": "hello", "model": m, "max_tokens": 20} for m in OTHERS),
    ]
    return [answered(r) for r in complete(url, calls)]


def _watched_page(browser: Any, problems: list[str]) -> Any:
    """A new page that adds script errors, and anything the Content-Security-Policy blocked, to
    `problems`."""
    page = browser.new_page()
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    return page


def _check_spend(page: Any, done: list[dict[str, Any]]) -> None:
    """The spend chart: one series per model that was paid for, as the legend names them; then
    per provider; and the failed request in the requests chart."""
    _await_legend(page, {d["model"] for d in done})
    assert _legend(page) == sorted({d["model"] for d in done})
    assert page.locator("#spend-chart rect[data-series]").count() >= len(done)
    page.select_option("#stack", "provider")
    _await_legend(page, {d["provider"] for d in done})
    assert _legend(page) == sorted({d["provider"] for d in done})
    expect(page.locator("#requests-chart rect.bad")).to_have_count(1)


def _check_health(page: Any) -> None:
    """Endpoint health: the failing endpoint's circuit is open, with when it frees."""
    row = page.locator('#health-table tr[data-provider="openai"][data-model="openai/gpt-4o-mini"]')
    expect(row).to_have_attribute("data-state", "open")
    expect(row.locator("td").nth(3)).to_have_text(re.compile(r"\(in \d+ s\)"))
    fallback_row = page.locator(f'#health-table tr[data-model="{FALLBACK}"]')
    expect(fallback_row.first).to_have_attribute("data-state", "closed")


def _check_catalog(page: Any) -> None:
    """The catalog: the search hides every row that does not match; a header sorts."""
    total = page.locator("#catalog-table tbody tr").count()
    page.fill("#catalog-search", "haiku")
    visible = page.locator("#catalog-table tbody tr:visible")
    expect(page.locator("#catalog-count")).to_have_text(re.compile(rf"^\d+ of {total} models$"))
    assert 0 < visible.count() < total
    assert all("haiku" in t.lower() for t in visible.locator("td:first-child").all_inner_texts())
    page.fill("#catalog-search", "no-such-model-anywhere")
    expect(page.locator("#catalog-count")).to_have_text(f"0 of {total} models")
    page.fill("#catalog-search", "")
    page.click("#catalog-table th:nth-child(4)")  # input price, cheapest first
    prices = [
        float(v)
        for v in page.locator("#catalog-table tbody td:nth-child(4)[data-value]").evaluate_all(
            "cells => cells.map(c => c.dataset.value)"
        )
    ]
    assert prices == sorted(prices) and prices


def test_the_page_shows_spend_health_and_a_searchable_catalog(
    sim: Simulator, browser: Any, home: Path, tmp_path: Path
) -> None:
    _fail_primary(sim)
    with serving(serve_env(sim.env(), home), tmp_path / "serve.log") as url:
        done = _traffic(url)
        problems: list[str] = []
        page = _watched_page(browser, problems)
        page.goto(url + "/")
        _check_spend(page, done)
        _check_health(page)
        _check_catalog(page)
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        assert problems == []


def test_tokens_need_a_login_and_scope_the_page_to_the_client(
    sim: Simulator, browser: Any, home: Path, tmp_path: Path
) -> None:
    tokens = ",".join(f"{client}:{token}" for client, token in TOKENS.items())
    env = serve_env(sim.env(), home, MCP_ROUTER_TOKENS=tokens, MCP_ROUTER_ADMINS="ops")
    with serving(env, tmp_path / "serve.log") as url:
        mine = answered(complete(url, [{"prompt": "hi", "model": OTHERS[0]}], TOKENS["laptop"])[0])
        theirs = answered(complete(url, [{"prompt": "hi", "model": FALLBACK}], TOKENS["ops"])[0])
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "/")
        expect(page).to_have_url(url + "/login")

        page.fill("#token", "tok-laptop-0123456789abcdeX")  # wrong
        page.click("button[type=submit]")
        expect(page.locator(".error")).to_have_text(re.compile("not accepted"))
        assert not context.cookies()

        page.fill("#token", TOKENS["laptop"])
        page.click("button[type=submit]")
        expect(page).to_have_url(url + "/")
        (cookie,) = context.cookies()
        assert cookie["name"] == "mcp_router_session" and cookie["value"] not in TOKENS.values()
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        expect(page.locator("#who")).to_contain_text("laptop")
        _await_legend(page, {mine["model"]})  # not ops's model
        assert page.locator("#stack option[value=client]").count() == 0
        refused = page.evaluate("fetch('/api/series?client=ops').then(r => r.status)")
        assert refused == 400
        assert page.evaluate("fetch('/api/budgets').then(r => r.json())")["today"]["totals"]["requests"] == 1

        page.click("text=Sign out")
        expect(page).to_have_url(url + "/login")
        stale = httpx2.get(f"{url}/api/me", cookies={"mcp_router_session": cookie["value"]})
        assert stale.status_code == 401

        page.fill("#token", TOKENS["ops"])  # the admin reads every client
        page.click("button[type=submit]")
        page.select_option("#stack", "client")
        _await_legend(page, {"laptop", "ops"})
        assert theirs["model"] != mine["model"]
