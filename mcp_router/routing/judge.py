"""`compare`'s judge: `compare(..., judge={"model", "instructions"})` (README "Tools").

Once the compared models have answered, the judge model gets the task and the answers, each
labelled with the model that gave it (so the verdict can name the model), and the caller's
instructions, by default to pick the best answer and say why. It sees text only: the task's
text parts and each answer's text and tool calls; images and files of the task are not sent
again (any model can judge, vision or not).

The judge's call is a request of its own, routed like any other (fallbacks, budgets) and
metered under the same client with `tool = "judge"`, so the ledger tells it apart from the
answers it judged. It keeps the caller's routing limits (`provider`, `max_price`, `sort`, the
cost cap) and has only what is left of the compare's `timeout_s`: the deadline covers the whole
call, judge included. A judge that fails, or has no time left, yields a `verdict` with `error`;
the answers are kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from mcp_router.core import Message
from mcp_router.errors import RouterError
from mcp_router.routing.types import CompareEntry, RoutedCompletion, RouteRequest, Verdict

JUDGE_TOOL = "judge"  # the ledger's `tool` for the judge's request
DEFAULT_INSTRUCTIONS = "Pick the best answer and say why in a few sentences."
MAX_INSTRUCTIONS = 20_000  # characters
_ROLE = (
    "You judge the answers several models gave to one task. The task is in <task>, each answer "
    "in an <answer> tag naming its model. Name models by their ids."
)

RunOne = Callable[[RouteRequest], Awaitable[RoutedCompletion]]
"""Route one request (the Router's own call path: metering, budgets, fallbacks)."""


class Judge(BaseModel):
    """Which model judges a compare's answers, and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1, max_length=200)  # a vendor/model id, an alias or auto
    instructions: str | None = Field(
        default=None, max_length=MAX_INSTRUCTIONS
    )  # default: DEFAULT_INSTRUCTIONS


def _answer(entry: CompareEntry) -> str:
    calls = [f"→ {c.function.name}({c.function.arguments})" for c in entry.tool_calls]
    body = "\n".join([entry.text or "", *calls]).strip()
    incomplete = ' incomplete="true"' if entry.error else ""
    return f'<answer model="{entry.model}"{incomplete}>\n{body}\n</answer>'


def judged(entries: Sequence[CompareEntry]) -> list[CompareEntry]:
    """The entries the judge sees: those with something to judge (text or tool calls)."""
    return [e for e in entries if (e.text or "").strip() or e.tool_calls]


def judge_messages(
    task: Sequence[Message], entries: Sequence[CompareEntry], instructions: str | None
) -> list[Message]:
    """The judge's prompt: its role and the instructions, then the task and the answers."""
    turns = "\n".join(f"{m.role}: {m.text}" for m in task if m.text.strip())
    answers = "\n\n".join(_answer(e) for e in entries)
    return [
        Message(role="system", content=f"{_ROLE}\n\n{(instructions or '').strip() or DEFAULT_INSTRUCTIONS}"),
        Message(role="user", content=f"<task>\n{turns}\n</task>\n\n{answers}"),
    ]


def judge_request(
    req: RouteRequest, entries: Sequence[CompareEntry], judge: Judge, time_left_s: float
) -> RouteRequest:
    """The judge's own request: the compare's client, tag, routing limits, cost cap and what is
    left of its deadline; none of the answers' generation settings (their tools, format or
    token limit are not the judge's)."""
    return RouteRequest(
        messages=judge_messages(req.messages, entries, judge.instructions),
        model=judge.model,
        client=req.client,
        tool=JUDGE_TOOL,
        tag=req.tag,
        timeout_s=time_left_s,
        max_cost_usd=req.max_cost_usd,
        provider=req.provider,
        max_price=req.max_price,
        sort=req.sort,
    )


async def verdict(
    req: RouteRequest, entries: Sequence[CompareEntry], judge: Judge, run: RunOne, *, time_left_s: float
) -> Verdict:
    """The judge's verdict over the answers within `time_left_s` (what the compare left of
    `req.timeout_s`); `error` when there was nothing to judge, no time left, or the judge's
    request failed (never raises a RouterError)."""
    answers = judged(entries)
    if not answers:
        return Verdict(model=judge.model, error="nothing to judge: no compared model answered")
    if time_left_s <= 0:
        return Verdict(
            model=judge.model,
            error=f"no time left to judge: the answers used the whole timeout_s of {req.timeout_s:g} s; "
            "raise timeout_s to leave the judge time",
        )
    try:
        r = await run(judge_request(req, answers, judge, min(time_left_s, req.timeout_s)))
    except RouterError as exc:
        return Verdict(model=judge.model, error=str(exc))
    return Verdict(
        model=r.model,
        provider=r.provider,
        text=r.text,
        usage=r.usage,
        cost_usd=r.cost_usd,
        latency_ms=r.latency_ms,
        request_id=r.request_id,
        error=r.error,
    )
