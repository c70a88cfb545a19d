"""Simulated LLM providers over real HTTP on 127.0.0.1, speaking each provider's wire format.

Every test, benchmark and the demo run against this instead of the internet:

    from mcp_router.sim import Simulator, Fault, ModelProfile

    sim = Simulator()
    async with sim.running():
        sim.script("openai", "gpt-4o-mini", Fault.status(429, retry_after=1))
        ...  # point a client at sim.url("openai") with sim.key("openai")
"""

from mcp_router.sim.simulator import Simulator
from mcp_router.sim.state import Fault, ModelProfile, SimRequest

__all__ = ["Fault", "ModelProfile", "SimRequest", "Simulator"]
