"""Catalog speed: cold load (snapshot + SQLite cache) in a fresh process, and a filtered query.

    .venv/bin/python bench/catalog_speed.py [N]

Cold load runs N fresh subprocesses (median reported): imports, then `Catalog.load_bundled()`
plus `CatalogRefresher.load_cached()` over a cache holding an OpenRouter-sized live list (400
models). Budget: load < 150 ms. The query is a filtered `query_models` over the whole merged
catalog, median of 500 runs. Budget: < 5 ms.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.merge import ProviderListing
from mcp_router.catalog.query import query_models
from mcp_router.catalog.refresh import CatalogCache, CatalogRefresher
from mcp_router.core import RemoteModel

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from mcp_router.catalog.catalog import Catalog
from mcp_router.catalog.refresh import CatalogCache, CatalogRefresher
t1 = time.perf_counter()
snapshot = Catalog.load_bundled()
t2 = time.perf_counter()
catalog = CatalogRefresher(snapshot, cache=CatalogCache(sys.argv[1])).load_cached()
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "snapshot": t2 - t1, "cache_merge": t3 - t2, "models": len(catalog)}))
"""


def make_cache(path: Path) -> None:
    models = tuple(
        RemoteModel(
            provider="openrouter",
            native_id=f"vendor{i % 40}/model-{i}",
            name=f"Vendor {i % 40}: Model {i}",
            context_length=128_000,
            input_price=Decimal(i + 1) / 10**7,
            output_price=Decimal(i + 1) / 10**6,
        )
        for i in range(400)
    )
    cache = CatalogCache(path)
    cache.save(ProviderListing(provider="openrouter", fetched_at=datetime.now(UTC), models=models))
    cache.close()


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "catalog.db"
        make_cache(db)
        runs = []
        for _ in range(n):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(db)], capture_output=True, text=True, check=True
            )
            runs.append(json.loads(out.stdout))
        catalog = CatalogRefresher(Catalog.load_bundled(), cache=CatalogCache(db)).load_cached()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs) * 1000

    load = statistics.median((r["snapshot"] + r["cache_merge"]) for r in runs) * 1000
    print(f"cold load, median of {n} fresh processes ({runs[0]['models']} models):")
    print(f"  imports (pydantic, sqlite-utils, structlog, ...)  {med('import'):7.1f} ms")
    print(f"  snapshot parse + indexes                          {med('snapshot'):7.1f} ms")
    print(f"  cache read + live merge (400 live models)         {med('cache_merge'):7.1f} ms")
    print(f"  load total (snapshot + cache)                     {load:7.1f} ms   budget 150 ms")

    times = []
    for _ in range(500):
        t = time.perf_counter()
        _models, total = query_models(
            catalog,
            query="a",
            capabilities=["tools"],
            max_input_price=5,
            min_context=100_000,
            available_only=True,
            available_providers={"openai", "anthropic", "openrouter", "groq"},
            sort="price",
        )
        times.append(time.perf_counter() - t)
    print(
        f"filtered query over {len(catalog)} models: median {statistics.median(times) * 1000:.3f} ms "
        f"(p95 {sorted(times)[int(len(times) * 0.95)] * 1000:.3f} ms, {total} matches)   budget 5 ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
