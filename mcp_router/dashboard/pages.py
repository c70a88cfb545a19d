"""The dashboard's HTML, rendered on the server: the page's frame with the catalog table filled
in, and the login form. The charts, health and budgets are drawn by static/dashboard.js from
`/api/` (README "Dashboard"). Every value is escaped; no inline script or style, so the
Content-Security-Policy can forbid both."""

from __future__ import annotations

from html import escape

from mcp_router.api.access import Caller
from mcp_router.api.results import ListModelsResult, ModelInfo

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make form posts send `Origin: null`
    "Cache-Control": "no-store",
}

_HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/dashboard.css">{script}
</head>"""


def _head(title: str, script: bool) -> str:
    tag = '\n<script src="/assets/dashboard.js" defer></script>' if script else ""
    return _HEAD.format(title=escape(title), script=tag)


def login_page(error: str | None = None) -> str:
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""{_head("Sign in · mcp-router", script=False)}
<body class="login"><main>
<h1>mcp-router</h1>
<form method="post" action="/login">
<label for="token">Bearer token or key</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
{message}
<button type="submit">Sign in</button>
</form>
<p class="hint">The token this server was given in MCP_ROUTER_TOKENS (or [server] tokens).</p>
</main></body></html>"""


def _money(value: float | None) -> tuple[str, str]:
    """(sort value, text) of a price in USD per 1M tokens; unknown sorts last."""
    if value is None:
        return "", "?"
    return repr(value), f"${value:g}"


def _context(tokens: int | None) -> tuple[str, str]:
    if not tokens:
        return "", "?"
    text = f"{tokens / 1_000_000:g}M" if tokens >= 1_000_000 else f"{tokens / 1000:g}K"
    return str(tokens), text


def _model_row(m: ModelInfo) -> str:
    providers = [e.provider for e in m.endpoints]
    available = any(e.available for e in m.endpoints)
    search = " ".join([m.id, m.name or "", *providers, *m.capabilities]).lower()
    cells = [
        ("", f"<code>{escape(m.id)}</code>"),
        ("", escape(m.name or "")),
        _context(m.context_length),
        _money(m.pricing.input if m.pricing else None),
        _money(m.pricing.output if m.pricing else None),
        ("", escape(", ".join(providers))),
        ("1" if available else "0", "yes" if available else "no"),
    ]
    tds = "".join(
        f'<td data-value="{escape(v)}">{text}</td>' if v else f"<td>{text}</td>" for v, text in cells
    )
    cls = "" if available else ' class="unavailable"'
    return f'<tr data-search="{escape(search)}"{cls}>{tds}</tr>'


def _who(caller: Caller) -> str:
    if not caller.authenticated:
        return '<span id="who">local access (no tokens configured): every client</span>'
    role = " (admin)" if caller.admin else ""
    scope = "every client" if caller.admin else f"client {caller.client} only"
    return (
        f'<span id="who">signed in as <b>{escape(caller.client)}</b>{role}: {escape(scope)}</span>'
        '<form method="post" action="/logout"><button type="submit">Sign out</button></form>'
    )


_SECTIONS = """
<section id="summary" class="tiles" aria-live="polite"></section>
<section id="spend"><h2>Spend</h2>
<div class="controls">
<label>Window <select id="window"><option value="24h">24 hours</option>
<option value="7d" selected>7 days</option><option value="30d">30 days</option></select></label>
<label>Buckets <select id="bucket"><option value="hour">hour</option>
<option value="day" selected>day</option></select></label>
<label>Stack by <select id="stack"><option value="model">model</option>
<option value="provider">provider</option>
<option value="client">client</option></select></label>
</div>
<div id="spend-chart" class="chart"></div><ul id="spend-legend" class="legend"></ul>
</section>
<section id="traffic"><h2>Requests and errors</h2><div id="requests-chart" class="chart"></div>
<ul class="legend"><li><i class="swatch ok"></i>requests</li><li><i class="swatch bad"></i>errors</li></ul>
<h2>Latency</h2><div id="latency-chart" class="chart"></div>
<ul class="legend"><li><i class="swatch p50"></i>p50</li><li><i class="swatch p95"></i>p95</li></ul>
</section>
<section id="health"><h2>Endpoint health</h2>
<table id="health-table"><thead><tr><th>provider</th><th>model</th><th>circuit</th><th>frees</th>
<th>TTFT p50</th><th>tokens/s</th><th>error rate</th><th>samples</th></tr></thead><tbody></tbody></table>
</section>
<section id="budgets"><h2>Budgets</h2>
<table id="budgets-table"><thead><tr><th>period</th><th>cap</th><th>spent</th><th>reserved</th>
<th>remaining</th><th>resets</th></tr></thead><tbody></tbody></table>
</section>"""


def dashboard_page(caller: Caller, models: ListModelsResult) -> str:
    rows = "\n".join(_model_row(m) for m in models.models)
    head = _head("mcp-router dashboard", script=True)
    sections = _SECTIONS
    if caller.usage_client(None) is not None:  # reads one client only: nothing to stack by client
        sections = sections.replace('\n<option value="client">client</option>', "")
    return f"""{head}
<body data-client="{escape(caller.client)}" data-admin="{str(caller.admin).lower()}">
<header><h1>mcp-router</h1>{_who(caller)}</header>
<main>{sections}
<section id="catalog"><h2>Catalog</h2>
<div class="controls"><input id="catalog-search" type="search"
 placeholder="Search models, providers, capabilities" aria-label="Search the catalog">
<span id="catalog-count">{len(models.models)} models</span></div>
<table id="catalog-table"><thead><tr><th data-sort="text">model</th><th data-sort="text">name</th>
<th data-sort="number">context</th><th data-sort="number">input $/M</th><th data-sort="number">output $/M</th>
<th data-sort="text">providers</th><th data-sort="number">available</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</section>
</main></body></html>"""
