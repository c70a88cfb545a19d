"""OpenRouter's `GET /api/v1/key`: the calling key's usage and limits (an authenticated request,
unlike its public model list), in the shape of OpenRouter's API reference."""

from __future__ import annotations

from mcp_router.sim.catalogue import sim_key
from mcp_router.sim.engine import dumps, refuse
from mcp_router.sim.http import Conn, Request
from mcp_router.sim.openai import authorized


async def key(req: Request, conn: Conn) -> None:
    if await refuse(conn, authorized("openrouter", req)):
        return
    token = sim_key("openrouter")
    data = {
        "label": f"{token[:12]}...{token[-3:]}",  # OpenRouter shows a masked key as the label
        "limit": None,  # no credit limit on this key
        "limit_remaining": None,
        "limit_reset": None,
        "usage": 0,
        "usage_daily": 0,
        "usage_weekly": 0,
        "usage_monthly": 0,
        "byok_usage": 0,
        "byok_usage_daily": 0,
        "byok_usage_weekly": 0,
        "byok_usage_monthly": 0,
        "include_byok_in_limit": False,
        "is_free_tier": False,
        "is_management_key": False,
        "is_provisioning_key": False,
        "creator_user_id": "user_sim0000000000000000000000",
        "expires_at": None,
        "rate_limit": {
            "requests": -1,
            "interval": "10s",
            "note": "This field is deprecated and safe to ignore.",
        },
    }
    await conn.send(200, dumps({"data": data}))
