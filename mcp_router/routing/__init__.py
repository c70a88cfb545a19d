"""Routing: pure planning (`plan`), per-endpoint health and circuit breakers (`HealthTracker`),
and the attempt loop (`execute`). `mcp_router.router.Router` puts them together."""

from mcp_router.routing.filters import ExclusionKind
from mcp_router.routing.health import Clock, EndpointHealth, HealthTracker, SystemClock
from mcp_router.routing.plan import Candidate, Exclusion, Plan, plan
from mcp_router.routing.policy import DEFAULT_TIERS, RoutingPolicy

__all__ = [
    "DEFAULT_TIERS",
    "Candidate",
    "Clock",
    "EndpointHealth",
    "Exclusion",
    "ExclusionKind",
    "HealthTracker",
    "Plan",
    "RoutingPolicy",
    "SystemClock",
    "plan",
]
