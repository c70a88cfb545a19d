"""Gemini API (v1beta): `models/{m}:generateContent`, `:streamGenerateContent` (SSE with
`alt=sse`, else a streamed JSON array), `:countTokens`, `GET /v1beta/models[/{m}]`.

Auth is `x-goog-api-key` (or `?key=`): missing -> 403 PERMISSION_DENIED, wrong -> 400
INVALID_ARGUMENT with `details[].reason == "API_KEY_INVALID"`.
"""

from __future__ import annotations

from typing import Any

from mcp_router.sim import parts
from mcp_router.sim import text as simtext
from mcp_router.sim import tools as simtools
from mcp_router.sim.catalogue import sim_key
from mcp_router.sim.engine import (
    ChatInput,
    ChatPlan,
    Codec,
    ErrorReply,
    dumps,
    parse_json,
    refuse,
    request_record,
    send_error,
    serve_planned,
    sse,
)
from mcp_router.sim.http import Conn, Request
from mcp_router.sim.media import Seen
from mcp_router.sim.state import Fault, SimState

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MESSAGES = {
    "INVALID_ARGUMENT": "Request contains an invalid argument.",
    "UNAUTHENTICATED": "Request had invalid authentication credentials.",
    "PERMISSION_DENIED": "The caller does not have permission",
    "NOT_FOUND": "Requested entity was not found.",
    "RESOURCE_EXHAUSTED": "You exceeded your current quota, please check your plan and billing details. "
    "For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    "INTERNAL": "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    "UNAVAILABLE": "The model is overloaded. Please try again later.",
    "DEADLINE_EXCEEDED": "Deadline expired before operation could complete.",
}
_FINISH = {
    "stop": "STOP",
    "stop_sequence": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "tool_calls": "STOP",  # Gemini ends a turn of function calls with STOP
}
_SEP = "\r\n\r\n"  # Google's SSE frames end with CRLF pairs


def _error(
    status: int,
    message: str | None = None,
    details: list[dict[str, Any]] | None = None,
    retry_s: float | None = None,
) -> ErrorReply:
    name = _STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    err: dict[str, Any] = {
        "code": status,
        "message": message or _MESSAGES.get(name, f"Error {status}"),
        "status": name,
    }
    details = list(details or [])
    if status == 429:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    }
                ],
            }
        )
        if retry_s is not None:
            details.append(
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_s:g}s"}
            )
    if details:
        err["details"] = details
    return ErrorReply(status, {"error": err})


class GeminiCodec(Codec):
    def __init__(self, model: str, sse_mode: bool) -> None:
        self.model = model
        self.sse_mode = sse_mode
        self.stream_type = "text/event-stream" if sse_mode else "application/json"
        self.include_thoughts = False
        self._opened = False  # a streamed JSON array has its `[`

    def error(self, status: int, message: str | None = None) -> ErrorReply:
        return _error(status, message)

    def fault_error(self, fault: Fault) -> ErrorReply:
        # A 429's Retry-After is echoed as RetryInfo in its details, as Google does.
        return _error(fault.code, fault.message, retry_s=fault.retry_after)

    def context_error(self, plan: ChatPlan, limit: int) -> ErrorReply:
        return _error(
            400,
            f"The input token count ({plan.input_tokens}) exceeds the maximum number of tokens "
            f"allowed ({limit}).",
        )

    def usage(self, plan: ChatPlan, produced: int) -> dict[str, Any]:
        """Cumulative usage after `produced` output tokens, as Gemini repeats it on every chunk."""
        usage: dict[str, Any] = {"promptTokenCount": plan.input_tokens}
        if produced:
            usage["candidatesTokenCount"] = produced
        if plan.cached_tokens:
            usage["cachedContentTokenCount"] = plan.cached_tokens
        usage["totalTokenCount"] = plan.input_tokens + produced + plan.reasoning_tokens
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": plan.input_tokens}]
        if plan.reasoning_tokens:
            usage["thoughtsTokenCount"] = plan.reasoning_tokens
        return usage

    def _response(
        self, plan: ChatPlan, text: str | None, finish: bool, produced: int, extra: list[Any] | None = None
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": list(extra or []), "role": "model"}, "index": 0}
        if text is not None:
            candidate["content"]["parts"].append({"text": text})
        if finish:
            candidate["finishReason"] = _FINISH.get(plan.finish, "SIM_UNKNOWN_REASON")
        return {
            "candidates": [candidate],
            "usageMetadata": self.usage(plan, produced),
            "modelVersion": self.model,
            "responseId": plan.id,
        }

    def _thought(self, plan: ChatPlan) -> list[Any]:
        return [{"text": plan.thinking, "thought": True}] if plan.thinking and self.include_thoughts else []

    def body(self, plan: ChatPlan) -> Any:
        calls = [{"functionCall": {"name": c.name, "args": c.arguments}} for c in plan.tool_calls]
        text = plan.text if plan.chunks else None
        response = self._response(plan, text, True, plan.output_tokens, self._thought(plan))
        response["candidates"][0]["content"]["parts"] += calls
        return response

    def _item(self, value: Any, first: bool = False) -> bytes:
        if self.sse_mode:
            return sse(value, sep=_SEP)
        first, self._opened = first or not self._opened, True
        return (b"[" if first else b",\r\n") + dumps(value)

    def stream_open(self, plan: ChatPlan) -> list[bytes]:
        return []

    def stream_thinking(self, plan: ChatPlan) -> list[bytes]:
        thought = self._thought(plan)
        return [self._item(self._response(plan, None, False, 0, thought))] if thought else []

    def stream_delta(self, plan: ChatPlan, text: str, index: int) -> bytes:
        last = index == len(plan.chunks) - 1 and not plan.tool_calls
        return self._item(self._response(plan, text, last, index + 1))

    def stream_tools(self, plan: ChatPlan) -> list[bytes]:
        if not plan.tool_calls:
            return []
        calls = [{"functionCall": {"name": c.name, "args": c.arguments}} for c in plan.tool_calls]
        return [self._item(self._response(plan, None, True, plan.output_tokens, calls))]

    def stream_close(self, plan: ChatPlan) -> list[bytes]:
        if plan.chunks or plan.tool_calls:
            return [] if self.sse_mode else [b"]"]
        # Nothing was generated: one chunk carries the finish reason and usage.
        empty = self._response(plan, None, True, 0)
        return [self._item(empty), *([] if self.sse_mode else [b"]"])]

    def stream_error(self, plan: ChatPlan) -> bytes:
        err = {"error": {"code": 503, "message": _MESSAGES["UNAVAILABLE"], "status": "UNAVAILABLE"}}
        return self._item(err) + (b"" if self.sse_mode else b"]")

    def broken_item(self, plan: ChatPlan) -> bytes:
        broken = b'{"candidates": [{"content": {"parts": [{"text'
        return b"data: " + broken + _SEP.encode() if self.sse_mode else b"," + broken

    def missing_body(self, plan: ChatPlan) -> Any:
        return {
            "usageMetadata": self.usage(plan, plan.output_tokens),
            "modelVersion": self.model,
            "responseId": plan.id,
        }

    def missing_item(self, plan: ChatPlan) -> bytes:
        item = self._item(self.missing_body(plan), first=True)
        return item if self.sse_mode else item + b"]"


def _text(parts: Any) -> str:
    if not isinstance(parts, list):
        return ""
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and not p.get("thought"))


def _to_chat(body: dict[str, Any], stream: bool, model: str = "") -> ChatInput | ErrorReply:
    contents = body.get("contents")
    if isinstance(contents, dict):
        contents = [contents]
    if not isinstance(contents, list) or not contents:
        return _error(400, "* GenerateContentRequest.contents: contents is not specified")
    messages: list[tuple[str, str]] = []
    seen: list[Seen] = []
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            return _error(400, "Invalid JSON payload received. Unknown name in 'contents'.")
        role = content.get("role") or "user"
        if role not in ("user", "model"):
            return _error(400, "Please use a valid role: user, model.")
        read = parts.gemini_parts(content.get("parts"), i, model)
        if isinstance(read, parts.Problem):
            return _error(read.status, read.message)
        messages.append(("assistant" if role == "model" else "user", read.text))
        seen += read.seen
    system_instruction = body.get("systemInstruction") or body.get("system_instruction") or {}
    config = body.get("generationConfig") or body.get("generation_config") or {}
    max_tokens = config.get("maxOutputTokens", config.get("max_output_tokens"))
    stops = [s for s in config.get("stopSequences", config.get("stop_sequences")) or [] if isinstance(s, str)]
    mime = config.get("responseMimeType", config.get("response_mime_type"))
    schema = config.get("responseJsonSchema") or config.get("responseSchema") or config.get("response_schema")
    json_mode = mime == "application/json"
    extra = simtools.gemini_request(body, contents)
    if isinstance(extra, str):
        return _error(400, extra)
    tools, tool_choice, tool_result, thinking_budget, _ = extra
    return ChatInput(
        system=_text(system_instruction.get("parts")) if isinstance(system_instruction, dict) else "",
        messages=messages,
        max_tokens=max_tokens if isinstance(max_tokens, int) else None,
        stops=stops,
        json_mode=json_mode,
        schema=schema if json_mode and isinstance(schema, dict) else None,
        stream=stream,
        media=seen,
        media_tokens=parts.gemini_tokens(seen),
        tools=tools,
        tool_choice=tool_choice,
        tool_result=tool_result,
        thinking_budget=thinking_budget,
    )


def _authorized(req: Request) -> ErrorReply | None:
    key = req.headers.get("x-goog-api-key") or req.query.get("key")
    if not key:
        return _error(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
        )
    if key != sim_key("gemini"):
        info = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"},
        }
        return _error(400, "API key not valid. Please pass a valid API key.", [info])
    return None


async def generate(state: SimState, model: str, method: str, req: Request, conn: Conn) -> None:
    """`POST /v1beta/models/{model}:{method}` for generateContent / streamGenerateContent / countTokens."""
    if await refuse(conn, _authorized(req)):
        return
    body = parse_json(req)
    if body is None:
        await send_error(conn, _error(400, "Invalid JSON payload received."))
        return
    if method == "countTokens":
        inner = body.get("generateContentRequest", body)
        parsed_count = _to_chat(inner, False, model)
        if isinstance(parsed_count, ErrorReply):
            await send_error(conn, parsed_count)
            return
        total = simtext.prompt_tokens(parsed_count.system, parsed_count.messages) + parsed_count.media_tokens
        await conn.send(200, dumps({"totalTokens": total}))
        return
    if method not in ("generateContent", "streamGenerateContent"):
        await send_error(conn, _error(404, f"Method {method} not found."))
        return
    state.record("gemini", model, request_record(req, body))
    served = state.get("gemini", model)
    if served is None:
        msg = (
            f"models/{model} is not found for API version v1beta, or is not supported for {method}. "
            "Call ListModels to see the list of available models and their supported methods."
        )
        await send_error(conn, _error(404, msg))
        return
    parsed = _to_chat(body, method == "streamGenerateContent", served.name)
    codec = GeminiCodec(model, req.query.get("alt") == "sse")
    extra = simtools.gemini_request(body, [])
    codec.include_thoughts = not isinstance(extra, str) and bool(extra[-1])
    await serve_planned(conn, state, served, parsed, codec, implicit_cache=1024)


def _model_entry(name: str, listing: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": listing.get("display_name", name),
        "description": listing.get("description", f"Simulated {name}."),
        "inputTokenLimit": int(listing.get("context_length", 1048576)),
        "outputTokenLimit": int(listing.get("max_output_tokens", 65536)),
        "supportedGenerationMethods": [
            "generateContent",
            "countTokens",
            "createCachedContent",
            "batchGenerateContent",
        ],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    }


async def models(state: SimState, req: Request, conn: Conn, model: str | None = None) -> None:
    if await refuse(conn, _authorized(req)):
        return
    if model is not None:
        served = state.get("gemini", model)
        if served is None:
            await send_error(conn, _error(404, f"models/{model} is not found for API version v1beta"))
            return
        await conn.send(200, dumps(_model_entry(served.name, served.listing)))
        return
    entries = [_model_entry(m.name, m.listing) for m in state.listing("gemini")]
    await conn.send(200, dumps({"models": entries}))
