"""Ollama: `POST /api/chat` (NDJSON stream by default, one JSON with `"stream": false`),
`GET /api/tags`, `POST /api/show`, `GET /api/version`. Keyless; errors are `{"error": "..."}`."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Any

from mcp_router.sim import media, parts
from mcp_router.sim import tools as simtools
from mcp_router.sim.engine import (
    ChatInput,
    ChatPlan,
    Codec,
    ErrorReply,
    dumps,
    parse_json,
    request_record,
    send_error,
    serve_planned,
)
from mcp_router.sim.http import Conn, Request
from mcp_router.sim.media import Seen
from mcp_router.sim.state import ServedModel, SimState

_MESSAGES = {
    400: "invalid request",
    404: "model not found",
    429: "server busy, please try again.  maximum pending requests exceeded",
    500: "llama runner process has terminated: exit status 2",
    503: "server busy, please try again.  maximum pending requests exceeded",
}
_DONE = {
    "tool_calls": "stop",
    "stop": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "content_filter": "stop",
}


def normalize(model: str) -> str:
    """Ollama resolves a bare name to its `:latest` tag."""
    return model if ":" in model or not model else f"{model}:latest"


def _error(status: int, message: str | None = None) -> ErrorReply:
    return ErrorReply(status, {"error": message or _MESSAGES.get(status, f"error {status}")})


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class OllamaCodec(Codec):
    stream_type = "application/x-ndjson"

    def __init__(self, model: str) -> None:
        self.model = model

    def error(self, status: int, message: str | None = None) -> ErrorReply:
        return _error(status, message)

    def context_error(self, plan: ChatPlan, limit: int) -> ErrorReply:
        # Ollama's exact wording (it names no numbers).
        return _error(400, "the input length exceeds the context length")

    def _line(self, value: Any) -> bytes:
        return dumps(value) + b"\n"

    def _msg(self, content: str, done: bool) -> dict[str, Any]:
        return {
            "model": self.model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": content},
            "done": done,
        }

    def _final(self, plan: ChatPlan, content: str) -> dict[str, Any]:
        out = self._msg(content, True)
        # Durations are nanoseconds. Evaluation is reported at the profile's pace (100 tokens/s by
        # default) so eval_count / eval_duration gives a meaningful throughput.
        tps = plan.served.profile.tokens_per_s or 100.0
        eval_ns = max(1, int(plan.output_tokens * 1e9 / tps))
        prompt_ns = plan.input_tokens * 100_000
        load_ns = 1_000_000
        measured_ns = int((time.monotonic() - plan.started) * 1e9)
        out.update(
            {
                "done_reason": _DONE.get(plan.finish, "sim_unknown_reason"),
                "total_duration": max(measured_ns, load_ns + prompt_ns + eval_ns),
                "load_duration": load_ns,
                "prompt_eval_count": plan.input_tokens,
                "prompt_eval_duration": prompt_ns,
                "eval_count": plan.output_tokens + (plan.reasoning_tokens if plan.thinking else 0),
                "eval_duration": eval_ns,
            }
        )
        return out

    def body(self, plan: ChatPlan) -> Any:
        out = self._final(plan, plan.text)
        if plan.thinking:
            out["message"]["thinking"] = plan.thinking
        if plan.tool_calls:
            out["message"]["tool_calls"] = _calls(plan)
        return out

    def stream_open(self, plan: ChatPlan) -> list[bytes]:
        return []

    def stream_thinking(self, plan: ChatPlan) -> list[bytes]:
        items = []
        for piece in simtools.pieces(plan.thinking) if plan.thinking else []:
            line = self._msg("", False)
            line["message"]["thinking"] = piece
            items.append(self._line(line))
        return items

    def stream_tools(self, plan: ChatPlan) -> list[bytes]:
        if not plan.tool_calls:
            return []
        line = self._msg("", False)
        line["message"]["tool_calls"] = _calls(plan)
        return [self._line(line)]

    def stream_delta(self, plan: ChatPlan, text: str, index: int) -> bytes:
        return self._line(self._msg(text, False))

    def stream_close(self, plan: ChatPlan) -> list[bytes]:
        return [self._line(self._final(plan, ""))]

    def stream_error(self, plan: ChatPlan) -> bytes:
        return self._line({"error": "an error was encountered while running the model: unexpected EOF"})

    def broken_item(self, plan: ChatPlan) -> bytes:
        return b'{"model":"' + self.model.encode() + b'","message":{"role":"assistant","cont\n'

    def missing_body(self, plan: ChatPlan) -> Any:
        out = self._final(plan, "")
        del out["message"]
        return out

    def missing_item(self, plan: ChatPlan) -> bytes:
        return self._line({"model": self.model, "created_at": _now(), "done": False})


def _calls(plan: ChatPlan) -> list[dict[str, Any]]:
    return [{"function": {"name": c.name, "arguments": c.arguments}} for c in plan.tool_calls]


def _to_chat(
    body: dict[str, Any], modalities: frozenset[str] = frozenset({"text"})
) -> ChatInput | ErrorReply:
    raw = body.get("messages")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        return _error(400, "json: cannot unmarshal messages")
    system_parts: list[str] = []
    messages: list[tuple[str, str]] = []
    seen: list[Seen] = []
    for m in raw:
        if not isinstance(m, dict):
            return _error(400, "json: cannot unmarshal message")
        images = parts.ollama_images(m.get("images"), modalities)
        if isinstance(images, parts.Problem):
            return _error(images.status, images.message)
        seen += images
        role, content = str(m.get("role", "user")), str(m.get("content") or "")
        if role == "system":
            system_parts.append(content)
        else:
            messages.append((role, content))
    options = body.get("options") or {}
    num_predict = options.get("num_predict")
    stop = options.get("stop")
    stops = [stop] if isinstance(stop, str) else [s for s in stop or [] if isinstance(s, str)]
    fmt = body.get("format")
    tools, tool_choice, tool_result, thinking_budget = simtools.ollama_request(body, raw)
    return ChatInput(
        system="\n".join(system_parts),
        messages=messages,
        max_tokens=num_predict if isinstance(num_predict, int) and num_predict >= 0 else None,
        stops=stops,
        json_mode=fmt == "json" or isinstance(fmt, dict),
        schema=fmt if isinstance(fmt, dict) else None,
        stream=body.get("stream", True) is not False,
        media=seen,
        media_tokens=media.OLLAMA_IMAGE_TOKENS * len(seen),
        tools=tools,
        tool_choice=tool_choice,
        tool_result=tool_result,
        thinking_budget=thinking_budget,
    )


async def chat(state: SimState, req: Request, conn: Conn) -> None:
    body = parse_json(req)
    if body is None:
        await send_error(conn, _error(400, "invalid character looking for beginning of value"))
        return
    model = normalize(str(body.get("model", "")))
    state.record("ollama", model, request_record(req, body))
    if not model:
        await send_error(conn, _error(400, "model is required"))
        return
    served = state.get("ollama", model)
    if served is None:
        raw = str(body.get("model", ""))
        await send_error(conn, _error(404, f'model "{raw}" not found, try pulling it first'))
        return
    chat_input = _to_chat(body, media.input_modalities(served.name, served.listing))
    await serve_planned(conn, state, served, chat_input, OllamaCodec(str(body.get("model"))))


def _details(m: ServedModel) -> dict[str, Any]:
    family = str(m.listing.get("family", m.name.split(":")[0]))
    return {
        "parent_model": "",
        "format": "gguf",
        "family": family,
        "families": [family],
        "parameter_size": m.listing.get("parameter_size", "7B"),
        "quantization_level": m.listing.get("quantization_level", "Q4_K_M"),
    }


async def tags(state: SimState, req: Request, conn: Conn) -> None:
    entries = [
        {
            "name": m.name,
            "model": m.name,
            "modified_at": m.listing.get("modified_at", "2025-09-30T12:00:00.000000000Z"),
            "size": int(m.listing.get("size", 4_000_000_000)),
            "digest": hashlib.sha256(m.name.encode()).hexdigest(),
            "details": _details(m),
        }
        for m in state.listing("ollama")
    ]
    await conn.send(200, dumps({"models": entries}))


async def show(state: SimState, req: Request, conn: Conn) -> None:
    body = parse_json(req) or {}
    name = normalize(str(body.get("model") or body.get("name") or ""))
    served = state.get("ollama", name)
    if served is None:
        await send_error(conn, _error(404, f"model '{name}' not found"))
        return
    details = _details(served)
    info = {
        "general.architecture": details["family"],
        f"{details['family']}.context_length": int(served.listing.get("context_length", 4096)),
    }
    out = {
        "modelfile": f"FROM {served.name}\n",
        "parameters": "",
        "template": "{{ .Prompt }}",
        "details": details,
        "model_info": info,
        "capabilities": ["completion", "tools"]
        + (["vision"] if "image" in media.input_modalities(served.name, served.listing) else []),
        "modified_at": served.listing.get("modified_at", "2025-09-30T12:00:00.000000000Z"),
    }
    await conn.send(200, dumps(out))


async def version(req: Request, conn: Conn) -> None:
    await conn.send(200, dumps({"version": "0.12.6"}))
