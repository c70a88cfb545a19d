"""Build the bundled catalog snapshot from LiteLLM's price table.

    .venv/bin/python scripts/build_snapshot.py [SOURCE_JSON] [--date YYYY-MM-DD] [--out PATH]

Rerunnable on a newer table: the date is read from SOURCE.md beside the table ("snapshot of
YYYY-MM-DD") unless given. Output: mcp_router/catalog/snapshot.json, one model per line.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

from mcp_router.catalog.litellm import build_snapshot, providers_in

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "model_prices.json"
DEFAULT_OUT = ROOT / "mcp_router" / "catalog" / "snapshot.json"


def snapshot_date(source: Path) -> str | None:
    notes = source.with_name("SOURCE.md")
    if notes.exists():
        match = re.search(r"snapshot of (\d{4}-\d{2}-\d{2})", notes.read_text())
        if match:
            return match.group(1)
    return None


def dump(snapshot: dict[str, object]) -> str:
    """Compact, yet one model per line so a rebuild diffs readably."""
    models = snapshot["models"]
    assert isinstance(models, list)
    lines = [json.dumps(m, separators=(",", ":"), ensure_ascii=False) for m in models]
    meta = json.dumps(snapshot["meta"], separators=(",", ":"))
    return '{"meta":' + meta + ',\n"models":[\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--date", help="snapshot date (default: from SOURCE.md)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    date = args.date or snapshot_date(args.source)
    if not date:
        parser.error("no snapshot date: pass --date YYYY-MM-DD")
    table = json.loads(args.source.read_text(), parse_float=Decimal)
    snapshot = build_snapshot(table, date)
    args.out.write_text(dump(snapshot))
    models = snapshot["models"]
    endpoints = sum(len(m["endpoints"]) for m in models)
    print(
        f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB): {len(models)} models, "
        f"{endpoints} endpoints, providers {sorted(providers_in(models))}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
