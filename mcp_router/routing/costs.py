"""Cost estimates before a call, and the per-attempt budget hook. Pure apart from the gate.

One estimate everywhere: `estimate_cost(pricing, prompt_tokens, output_tokens)` prices a
would-be request through `catalog.pricing.cost`, so long-context tiers (Anthropic, Google bill the
whole request at the tier's prices above N prompt tokens) apply to the `max_cost_usd` filter,
`auto`'s ordering and budget reservations exactly as they will on the bill.

Worst case of one attempt (`max_cost_usd`, budget reservations): the prompt estimate plus
`max_tokens`, else the endpoint's output limit, else the model's, else the policy's
`worst_case_output_tokens`.

Budgets (checked before each attempt from the estimated cost and reserved, reconciled with the
actual cost): `BudgetHook.hold(candidate, prompt_tokens)` runs before every provider call,
retries included, and reserves that candidate's worst-case cost under the request's id (in the
usage database, so every process sharing it sees the hold; it lapses after the call's deadline
plus a grace); the executor settles the hold with the attempt's billed cost when the attempt is
recorded. A candidate whose worst case would pass the client's cap is skipped (outcome
`skipped`); the reason tells spend and what calls in flight hold apart, the cap, the reset, and
that setting `max_tokens` lowers the hold (without it, the hold is the model's whole output
limit). An endpoint with an unknown price is refused outright for a client with a budget: it
could not be capped, and guessing a figure would let spend run unbounded. Clients without a
budget are never held. `settle`/`release` are synchronous and never block.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from mcp_router.catalog.models import Endpoint, Model, Pricing
from mcp_router.catalog.pricing import cost
from mcp_router.core import Usage, reasoning_budget
from mcp_router.errors import BudgetExceeded

if TYPE_CHECKING:
    from mcp_router.core import Reasoning
    from mcp_router.routing.plan import Candidate
    from mcp_router.routing.policy import RoutingPolicy


def estimate_cost(pricing: Pricing | None, prompt_tokens: int, output_tokens: int) -> Decimal | None:
    """USD for a request of this size at these prices (tiers included); None when unknown."""
    return cost(pricing, Usage(input_tokens=prompt_tokens, output_tokens=output_tokens))


def worst_case_output(max_tokens: int | None, model: Model, endpoint: Endpoint, policy: RoutingPolicy) -> int:
    """The most output one attempt can be billed for."""
    return (
        max_tokens or endpoint.max_output_tokens or model.max_output_tokens or policy.worst_case_output_tokens
    )


class Hold(Protocol):
    """Money held for one attempt: `settle(billed)` (None: unknown) or `release()`, once."""

    def settle(self, actual_usd: Decimal | None) -> Any: ...

    def release(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a candidate may not be called under the client's budget."""

    reason: str
    error: BudgetExceeded | None = None  # set when a cap (not an unknown price) refused it


class AttemptBudget(Protocol):
    async def hold(self, cand: Candidate, prompt_tokens: int) -> Hold | Refusal: ...


class BudgetGate(Protocol):
    """What `metering.budgets.Budgets` offers the router."""

    def limit_for(self, client: str, extra: Any = None) -> Any: ...

    async def reserve(
        self,
        client: str,
        estimated_usd: Decimal,
        *,
        request_id: str | None = None,
        deadline_s: float | None = None,
        extra: Any = None,
    ) -> Any: ...


class _NoHold:
    def settle(self, actual_usd: Decimal | None) -> None:
        return None

    def release(self) -> None:
        return None


NO_HOLD: Hold = _NoHold()


class BudgetHook:
    """`AttemptBudget` over a `BudgetGate` for one routed request."""

    def __init__(
        self,
        gate: BudgetGate,
        *,
        client: str,
        request_id: str,
        max_tokens: int | None,
        policy: RoutingPolicy,
        timeout_s: float | None = None,
        extra: Any = None,
    ) -> None:
        self._gate = gate
        self._extra = extra  # the client's key caps (a BudgetLimit), joining the configured ones
        self._client = client
        self._request_id = request_id
        self._max_tokens = max_tokens
        self._policy = policy
        self._deadline_s = timeout_s  # the gate lets a hold lapse a grace after this
        self._capped = gate.limit_for(client, extra) is not None

    async def hold(self, cand: Candidate, prompt_tokens: int) -> Hold | Refusal:
        if not self._capped:
            return NO_HOLD
        out = worst_case_output(self._max_tokens, cand.model, cand.endpoint, self._policy)
        worst = estimate_cost(cand.endpoint.pricing, prompt_tokens, out)
        if worst is None:
            return Refusal(
                f"price unknown and client {self._client!r} has a budget: an unpriced endpoint "
                "cannot be kept under a cap"
            )
        try:
            held = self._gate.reserve(
                self._client,
                worst,
                request_id=self._request_id,
                deadline_s=self._deadline_s,
                extra=self._extra,
            )
            if inspect.isawaitable(held):
                held = await held
        except BudgetExceeded as exc:
            err = exc.with_hint(self._hold_hint(out))
            return Refusal(f"budget: {err}", err)
        return held  # a Budgets Reservation

    def _hold_hint(self, output_tokens: int) -> str:
        """Why the hold is as large as it is, and how to make it smaller."""
        if self._max_tokens is None:
            return (
                f"A call holds its worst case until it ends: its prompt plus {output_tokens} output "
                "tokens, the model's whole output limit, since max_tokens is not set; setting "
                "max_tokens lowers the hold."
            )
        return (
            f"A call holds its worst case until it ends: its prompt plus max_tokens "
            f"({output_tokens}); a lower max_tokens lowers the hold."
        )


__all__ = [
    "NO_HOLD",
    "AttemptBudget",
    "BudgetGate",
    "BudgetHook",
    "Hold",
    "Refusal",
    "estimate_cost",
    "worst_case_output",
]


def held_output(max_tokens: int | None, reasoning: Reasoning | None) -> int | None:
    """The output tokens an attempt's hold covers: `max_tokens`, plus the thinking budget when
    reasoning is asked for (a wire that takes a budget may raise its `max_tokens` to make room
    for it, providers/anthropic_tools.py). None: the endpoint's output limit applies."""
    if max_tokens is None or reasoning is None:
        return max_tokens
    return max_tokens + reasoning_budget(reasoning, max_tokens)
