"""OpenAI chat completion replies, as served by OpenAI, OpenRouter and OpenAI-compatible vendors.

OpenAI and the compatible vendors share OpenAI's error shape `{"error": {message, type, param,
code}}`; OpenRouter uses its own `{"error": {"code": <int>, "message", "metadata"}}`, adds `cost`
to usage and a `provider` field, and always reports usage at the end of a stream.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mcp_router.sim import tools as simtools
from mcp_router.sim.catalogue import OPENROUTER_UPSTREAM
from mcp_router.sim.engine import ChatPlan, Codec, ErrorReply, sse

_FINISH = {
    "stop": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
}


def oai_error(
    status: int, message: str, type_: str, code: str | None = None, param: str | None = None
) -> Any:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class OpenAICodec(Codec):
    def __init__(self, provider: str, model: str, include_usage: bool = False) -> None:
        self.provider = provider
        self.model = model
        self.openrouter = provider == "openrouter"
        self.include_usage = include_usage or self.openrouter

    # -- errors ---------------------------------------------------------------------------------
    def error(self, status: int, message: str | None = None) -> ErrorReply:
        if self.openrouter:
            return ErrorReply(status, self._openrouter_error(status, message))
        m = self.model
        defaults: dict[int, tuple[str, str, str | None]] = {
            400: ("Invalid request.", "invalid_request_error", None),
            401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
            403: ("You are not allowed to sample from this model.", "invalid_request_error", None),
            404: (
                f"The model `{m}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            ),
            429: (
                f"Rate limit reached for {m} in organization org-sim on tokens per min (TPM): "
                "Limit 30000, Used 29500, Requested 1200. Please try again in 1.4s.",
                "tokens",
                "rate_limit_exceeded",
            ),
            500: (
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
                None,
            ),
            503: ("The server is overloaded or not ready yet.", "server_error", None),
        }
        default_msg, type_, code = defaults.get(status, (f"Simulated error {status}.", "server_error", None))
        if status >= 500 and status not in defaults:
            type_ = "server_error"
        return ErrorReply(status, oai_error(status, message or default_msg, type_, code))

    def _openrouter_error(self, status: int, message: str | None) -> Any:
        defaults = {
            400: "Invalid request.",
            401: "User not found.",
            402: "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
            404: f"No endpoints found for {self.model}.",
            408: "Request timed out.",
            429: f"{self.model} is temporarily rate-limited upstream. Please retry shortly.",
            502: "Provider returned error",
            503: "No available model provider that meets your routing requirements.",
        }
        body: dict[str, Any] = {"code": status, "message": message or defaults.get(status, f"Error {status}")}
        if status in (429, 502):
            vendor = self.model.split("/")[0]
            body["metadata"] = {"provider_name": OPENROUTER_UPSTREAM.get(vendor, vendor), "raw": None}
        return {"error": body, "user_id": "user_sim"}

    def context_error(self, plan: ChatPlan, limit: int) -> ErrorReply:
        if self.openrouter:
            msg = (
                f"This endpoint's maximum context length is {limit} tokens. However, you requested about "
                f"{plan.input_tokens} tokens ({plan.input_tokens} of text input). Please reduce the length "
                'of either one, or use the "middle-out" transform to compress your prompt automatically.'
            )
            return ErrorReply(400, {"error": {"code": 400, "message": msg}, "user_id": "user_sim"})
        msg = (
            f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
            f"{plan.input_tokens} tokens. Please reduce the length of the messages."
        )
        return ErrorReply(
            400, oai_error(400, msg, "invalid_request_error", "context_length_exceeded", "messages")
        )

    # -- bodies ---------------------------------------------------------------------------------
    def _id(self, plan: ChatPlan) -> str:
        return f"gen-{plan.id}" if self.openrouter else f"chatcmpl-{plan.id}"

    def _finish(self, plan: ChatPlan) -> str:
        return _FINISH.get(plan.finish, "sim_unknown_reason")

    def usage(self, plan: ChatPlan) -> dict[str, Any]:
        completion = plan.output_tokens + plan.reasoning_tokens
        usage: dict[str, Any] = {
            "prompt_tokens": plan.input_tokens,
            "completion_tokens": completion,
            "total_tokens": plan.input_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": plan.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": plan.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        if self.openrouter:
            usage["cost"] = float(_cost(plan))
            usage["is_byok"] = False
        return usage

    def _envelope(self, plan: ChatPlan, obj: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self._id(plan),
            "object": obj,
            "created": plan.created,
            "model": self.model,
        }
        if self.openrouter:
            vendor = self.model.split("/")[0]
            out["provider"] = OPENROUTER_UPSTREAM.get(vendor, vendor)
        else:
            out["service_tier"] = "default"
            out["system_fingerprint"] = "fp_sim0001"
        return out

    def body(self, plan: ChatPlan) -> Any:
        out = self._envelope(plan, "chat.completion")
        message: dict[str, Any] = {
            "role": "assistant",
            "content": plan.text if plan.chunks or not plan.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if plan.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.json}}
                for c in plan.tool_calls
            ]
        key = self._reasoning_key(plan)
        if plan.thinking and key:
            message[key] = plan.thinking
        out["choices"] = [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": self._finish(plan)}
        ]
        out["usage"] = self.usage(plan)
        return out

    def _chunk(self, plan: ChatPlan, delta: dict[str, Any], finish: str | None) -> bytes:
        out = self._envelope(plan, "chat.completion.chunk")
        out["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if self.include_usage:
            out["usage"] = None
        return sse(out)

    def stream_open(self, plan: ChatPlan) -> list[bytes]:
        # OpenRouter keeps the connection warm with SSE comments; parsers must ignore them.
        head = [b": OPENROUTER PROCESSING\n\n"] if self.openrouter else []
        return [*head, self._chunk(plan, {"role": "assistant", "content": "", "refusal": None}, None)]

    def stream_delta(self, plan: ChatPlan, text: str, index: int) -> bytes:
        return self._chunk(plan, {"content": text}, None)

    def _reasoning_key(self, plan: ChatPlan) -> str:
        """Where the thinking text goes: OpenRouter's `reasoning`, DeepSeek's `reasoning_content`
        (OpenAI's chat API returns none)."""
        return "reasoning" if self.openrouter else "reasoning_content" if plan.provider == "deepseek" else ""

    def stream_thinking(self, plan: ChatPlan) -> list[bytes]:
        key = self._reasoning_key(plan)
        if not plan.thinking or not key:
            return []
        return [self._chunk(plan, {key: piece}, None) for piece in simtools.pieces(plan.thinking)]

    def stream_tools(self, plan: ChatPlan) -> list[bytes]:
        items = []
        for i, c in enumerate(plan.tool_calls):
            head = {"index": i, "id": c.id, "type": "function", "function": {"name": c.name, "arguments": ""}}
            items.append(self._chunk(plan, {"tool_calls": [head]}, None))
            for piece in simtools.pieces(c.json):
                delta = {"tool_calls": [{"index": i, "function": {"arguments": piece}}]}
                items.append(self._chunk(plan, delta, None))
        return items

    def stream_close(self, plan: ChatPlan) -> list[bytes]:
        items = [self._chunk(plan, {}, self._finish(plan))]
        if self.include_usage:
            final = self._envelope(plan, "chat.completion.chunk")
            final["choices"] = []
            final["usage"] = self.usage(plan)
            items.append(sse(final))
        items.append(b"data: [DONE]\n\n")
        return items

    def stream_error(self, plan: ChatPlan) -> bytes:
        if self.openrouter:
            # OpenRouter's documented mid-stream error: a chunk with a top-level `error`
            # (string code) and a choice finishing with "error".
            out = self._envelope(plan, "chat.completion.chunk")
            out["error"] = {"code": "server_error", "message": "Provider disconnected unexpectedly"}
            out["choices"] = [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]
            return sse(out)
        return sse(oai_error(500, "The server had an error while processing your request.", "server_error"))

    def broken_item(self, plan: ChatPlan) -> bytes:
        return (
            b'data: {"id":"'
            + self._id(plan).encode()
            + b'","object":"chat.completion.chunk","choices":[{\n\n'
        )

    def missing_body(self, plan: ChatPlan) -> Any:
        out = self._envelope(plan, "chat.completion")
        out["usage"] = self.usage(plan)
        return out

    def missing_item(self, plan: ChatPlan) -> bytes:
        return sse(self._envelope(plan, "chat.completion.chunk")) + b"data: [DONE]\n\n"


def _cost(plan: ChatPlan) -> Decimal:
    listing = plan.served.listing
    per_m = Decimal(1_000_000)
    inp = Decimal(str(listing.get("input_price", "0"))) / per_m
    out = Decimal(str(listing.get("output_price", "0"))) / per_m
    cache_read = Decimal(str(listing.get("cache_read_price", listing.get("input_price", "0")))) / per_m
    uncached = plan.input_tokens - plan.cached_tokens
    return (
        uncached * inp + plan.cached_tokens * cache_read + (plan.output_tokens + plan.reasoning_tokens) * out
    )
