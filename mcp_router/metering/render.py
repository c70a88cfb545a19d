"""Plain-text rendering of a usage report for a person at a terminal (pure)."""

from __future__ import annotations

from mcp_router.metering.reports import UsageReport

BAR_WIDTH = 24


def _bar(value: float, top: float, width: int = BAR_WIDTH) -> str:
    if top <= 0 or value <= 0:
        return ""
    eighths = round(value / top * width * 8)
    full, part = divmod(max(1, eighths), 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[part]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def render_report(report: UsageReport) -> str:
    """A table with one line per group and a bar proportional to its cost."""
    since = report.window.since or "the beginning"
    who = f", client {report.client}" if report.client else ""
    lines = [f"Usage from {since} to {report.window.until} by {report.group_by}{who}", ""]
    header = ("key", "requests", "errors", "input tok", "output tok", "cost USD", "p50 ms", "p95 ms")
    table = [header]
    for row in report.rows:
        table.append(
            (
                row.key,
                str(row.requests),
                str(row.errors),
                str(row.input_tokens),
                str(row.output_tokens),
                f"{row.cost_usd:.6f}",
                _ms(row.p50_latency_ms),
                _ms(row.p95_latency_ms),
            )
        )
    t = report.totals
    table.append(
        (
            "total",
            str(t.requests),
            str(t.errors),
            str(t.input_tokens),
            str(t.output_tokens),
            f"{t.cost_usd:.6f}",
            "",
            "",
        )
    )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    top = max((row.cost_usd for row in report.rows), default=0.0)
    for i, cells in enumerate(table):
        text = "  ".join(
            c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        if 0 < i <= len(report.rows):
            text += "  " + _bar(report.rows[i - 1].cost_usd, top)
        lines.append(text.rstrip())
    if not report.rows:
        lines.append("(no requests in this window)")
    lines.append(
        f"attempts {t.attempts}, failed attempts {t.failed_attempts}; "
        "latency percentiles are approximate (within 4.4 %)"
    )
    return "\n".join(lines)
