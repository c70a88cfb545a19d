"""The one place the gateway maps errors to HTTP: a status, OpenAI's error body
`{"error": {"message", "type", "code", "param"}}` or Anthropic's `{"type": "error", "error":
{"type", "message"}}`, and `Retry-After` on 429 (README "Gateway").

Messages are the router's own readable ones (they name the cause and the fix), with any long
echoed value clipped; they never carry a key (errors.py).
"""

from __future__ import annotations

import math
from typing import Any

from mcp_router.api.errors import InvalidArguments
from mcp_router.errors import (
    AllRoutesFailed,
    BudgetExceeded,
    ClientRateLimited,
    ContextTooLong,
    KeyRevoked,
    MeteringError,
    ModelNotAllowed,
    ProviderError,
    RouterError,
    UnknownModel,
    clip_echoes,
)
from mcp_router.files import FileRefused

# status -> (OpenAI error type, Anthropic error type)
_TYPES: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("authentication_error", "authentication_error"),
    402: ("insufficient_quota", "billing_error"),
    403: ("permission_error", "permission_error"),
    404: ("not_found_error", "not_found_error"),
    405: ("invalid_request_error", "invalid_request_error"),
    415: ("invalid_request_error", "invalid_request_error"),
    421: ("permission_error", "permission_error"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "rate_limit_error"),
    502: ("upstream_error", "api_error"),
    503: ("service_unavailable", "overloaded_error"),
}


class GatewayError(Exception):
    """An HTTP error answer: status, message, machine code, the request field at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}

    def openai_body(self) -> dict[str, Any]:
        kind = _TYPES.get(self.status, ("api_error", "api_error"))[0]
        return {"error": {"message": self.message, "type": kind, "code": self.code, "param": self.param}}

    def anthropic_body(self) -> dict[str, Any]:
        kind = _TYPES.get(self.status, ("api_error", "api_error"))[1]
        return {"type": "error", "error": {"type": kind, "message": self.message}}


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> GatewayError:
    return GatewayError(400, message, code, param)


def unauthorized(message: str) -> GatewayError:
    return GatewayError(401, message, "invalid_api_key")


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


# RouterErrors answered by their class alone: status, code, the request field at fault.
_SIMPLE: tuple[tuple[type[RouterError], int, str, str | None], ...] = (
    (UnknownModel, 404, "model_not_found", "model"),
    (BudgetExceeded, 402, "budget_exceeded", None),
    (ModelNotAllowed, 403, "model_not_allowed", "model"),
    (KeyRevoked, 401, "invalid_api_key", None),
    (FileRefused, 400, "file_refused", "messages"),  # a local file the server may not read, a bad data URL
    (ContextTooLong, 400, "context_length_exceeded", "messages"),
)


def _router_error(exc: RouterError) -> GatewayError:
    text = clip_echoes(str(exc))
    for cls, status, code, param in _SIMPLE:
        if isinstance(exc, cls):
            return GatewayError(status, text, code, param)
    if isinstance(exc, ClientRateLimited):
        return GatewayError(429, text, "rate_limited", headers=_retry_after(exc.retry_after_s))
    if isinstance(exc, AllRoutesFailed) and not exc.attempts:  # nothing could be tried (OpenRouter: 404)
        return GatewayError(404, text, "no_endpoints", "model")
    if isinstance(exc, AllRoutesFailed | ProviderError):
        return GatewayError(
            502, text, "all_routes_failed" if isinstance(exc, AllRoutesFailed) else "upstream_error"
        )
    if isinstance(exc, MeteringError):
        return GatewayError(503, text, "ledger_unavailable")
    return GatewayError(503, text, "unavailable")  # the router could not start, or is stopping


def error_for(exc: Exception) -> GatewayError:
    """The HTTP answer for an error a call raised (a `GatewayError` is already one)."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, InvalidArguments):
        return bad_request(clip_echoes(str(exc)))
    if isinstance(exc, RouterError):
        return _router_error(exc)
    raise exc
