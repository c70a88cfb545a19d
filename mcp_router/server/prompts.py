"""Prompts worth having, and argument completion (`completion/complete`).

- `delegate`: hand a subtask to the cheapest model that can do it, with a fallback.
- `compare_models`: try one prompt on several models and recommend one.

Completion answers the `{vendor}` and `{model}` of `catalog://models/{vendor}/{model}` and the
prompts' model and capability arguments, so a client can autocomplete model ids.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from mcp_router.api.digest import MAX_COMPLETIONS, model_ids, model_names, vendor_names
from mcp_router.catalog.models import CAPABILITIES
from mcp_router.errors import RouterError
from mcp_router.server.resources import MODEL_URI
from mcp_router.server.state import ServerState


def delegate(task: str, capabilities: str = "", max_cost_usd: str = "") -> str:
    """Delegate a subtask to the cheapest model that can do it well, with a fallback."""
    needs = (
        f" Only models with these capabilities: {capabilities} (list_models `capabilities`)."
        if capabilities
        else ""
    )
    cap = f" Pass `max_cost_usd`: {max_cost_usd}." if max_cost_usd else ""
    return (
        "Delegate the subtask below to another model through the mcp-router tools, as cheaply as "
        "the task allows.\n"
        "1. Call `estimate_cost` with the subtask as `prompt` to see its USD cost on each "
        f"available model.{needs}\n"
        "2. Call `complete` with the subtask as `prompt`, `model` the cheapest model able to do it "
        f"well (or `auto`), and a stronger model in `models` as the fallback.{cap}\n"
        "3. Check the answer; if it falls short, call `complete` again with a stronger model.\n\n"
        f"Subtask:\n{task}"
    )


def compare_models(prompt: str, models: str = "") -> str:
    """Compare models on one prompt: answers, cost and latency side by side, then a pick."""
    chosen = (
        f"`models` = {[m.strip() for m in models.split(',') if m.strip()]}"
        if models.strip()
        else "2-4 `models` chosen with `list_models` (different vendors and price levels)"
    )
    return (
        f"Call the mcp-router `compare` tool with the prompt below and {chosen}. Then show each "
        "model's answer next to its USD cost and latency, judge which answers are good enough, "
        "and recommend one model for tasks like this.\n\n"
        f"Prompt:\n{prompt}"
    )


def _last_item(value: str) -> tuple[str, str]:
    """`"a, b, c"` -> ("a, b, ", "c"): complete the last item of a comma-separated list."""
    head, sep, tail = value.rpartition(",")
    return (head + sep + (" " if sep else ""), tail.strip())


class Completer:
    """`completion/complete` over the router's catalog."""

    def __init__(self, state: ServerState) -> None:
        self._state = state

    def register(self, server: MCPServer[Any]) -> None:
        server.prompt(title="Delegate to the cheapest capable model")(delegate)
        server.prompt(title="Compare models on a prompt")(compare_models)
        server.completion()(self.complete)

    async def complete(
        self,
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        try:
            router = await self._state.router()
        except RouterError:
            return None
        catalog, available = router.catalog, router.available_providers
        known = (context.arguments if context else None) or {}
        if isinstance(ref, ResourceTemplateReference) and ref.uri == MODEL_URI:
            if argument.name == "vendor":
                return _answer(vendor_names(catalog, available, argument.value))
            if argument.name == "model":
                return _answer(model_names(catalog, available, known.get("vendor"), argument.value))
        if isinstance(ref, PromptReference):
            if argument.name == "models":
                head, last = _last_item(argument.value)
                return _answer([head + i for i in model_ids(catalog, available, last)])
            if argument.name == "capabilities":
                head, last = _last_item(argument.value)
                return _answer([head + c for c in CAPABILITIES if c.startswith(last.lower())])
        return None


def _answer(values: list[str]) -> Completion:
    return Completion(
        values=values[:MAX_COMPLETIONS], total=len(values), has_more=len(values) > MAX_COMPLETIONS
    )
