"""`compare`: one request fanned out to several models concurrently, one entry per model.

A model that fails yields an entry with `error`; cancelling the caller cancels every call in
flight (each is metered as cancelled by the Router). Progress from the calls is summed so the
caller sees one stream of counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import anyio

from mcp_router.catalog.catalog import Catalog
from mcp_router.errors import RouterError, UnknownModel, clip
from mcp_router.routing.execute import ProgressCallback
from mcp_router.routing.types import CompareEntry, CompareResult, RoutedCompletion

CompleteOne = Callable[[str, ProgressCallback | None], Awaitable[RoutedCompletion]]
"""Route the request to one model (by name), reporting progress to the callback."""


def _summed(on_progress: ProgressCallback | None, n: int) -> Callable[[int], ProgressCallback | None]:
    chunks = [0] * n
    chars = [0] * n

    def progress_for(i: int) -> ProgressCallback | None:
        if on_progress is None:
            return None
        cb = on_progress

        async def report(chunks_so_far: int, chars_so_far: int) -> None:
            chunks[i] = chunks_so_far
            chars[i] = chars_so_far
            await cb(sum(chunks), sum(chars))

        return report

    return progress_for


def _entry(name: str, r: RoutedCompletion | None, error: str | None) -> CompareEntry:
    if r is None:  # a caller's id that failed: echoed at most ~100 characters
        return CompareEntry(
            model=clip(name),
            provider=None,
            text=None,
            usage=None,
            cost_usd=None,
            latency_ms=None,
            error=error,
        )
    return CompareEntry(
        model=r.model,
        provider=r.provider,
        text=r.text,
        usage=r.usage,
        cost_usd=r.cost_usd,
        latency_ms=r.latency_ms,
        error=r.error,
        tool_calls=r.tool_calls,
    )


def check_any_known(catalog: Catalog, models: Sequence[str]) -> None:
    """Raise the first UnknownModel when no id in `models` is known (nothing could be compared);
    an unknown id among known ones becomes its own error entry instead."""
    first: UnknownModel | None = None
    for name in models:
        try:
            catalog.resolve(name)
            return
        except UnknownModel as exc:
            first = first or exc
    if first is not None:
        raise first


async def compare(
    models: list[str],
    complete_one: CompleteOne,
    *,
    concurrency: int = 4,
    on_progress: ProgressCallback | None = None,
) -> CompareResult:
    """Each distinct model once, at most `concurrency` at a time; `cheapest`/`fastest` among
    the answers that succeeded."""
    names = list(dict.fromkeys(models))
    entries: list[CompareEntry | None] = [None] * len(names)
    limiter = anyio.CapacityLimiter(max(1, concurrency))
    progress_for = _summed(on_progress, len(names))

    async def one(i: int, name: str) -> None:
        async with limiter:
            try:
                entries[i] = _entry(name, await complete_one(name, progress_for(i)), None)
            except RouterError as exc:
                entries[i] = _entry(name, None, str(exc))

    async with anyio.create_task_group() as tg:
        for i, name in enumerate(names):
            tg.start_soon(one, i, name)
    results = [e for e in entries if e is not None]
    ok = [e for e in results if e.error is None]
    priced = [e for e in ok if e.cost_usd is not None]
    timed = [e for e in ok if e.latency_ms is not None]
    cheapest = min(priced, key=lambda e: e.cost_usd or 0.0).model if priced else None
    fastest = min(timed, key=lambda e: e.latency_ms or 0.0).model if timed else None
    return CompareResult(results=results, cheapest=cheapest, fastest=fastest)
