"""The error tree. Adapters raise only these; the router falls back on these only.

    RouterError
    ├── ProviderError(provider, status, message)       one provider call failed
    │   ├── RateLimited(retry_after)                    429
    │   ├── Overloaded(retry_after)                     503 / 529 / overloaded_error
    │   ├── ServerError                                 other 5xx
    │   ├── ContextTooLong                              prompt + max_tokens over the limit
    │   ├── AuthFailed                                  401 / 403 / Gemini API_KEY_INVALID
    │   ├── BadRequest(endpoint_specific)               400 / 404 / 422 the request itself is wrong
    │   │   ├── ModelNotFound                           this endpoint does not serve the model id
    │   │   └── UnsupportedParameter                    this model rejects a parameter or value
    │   ├── ProviderTimeout                             connect/read/total deadline passed
    │   ├── ConnectionFailed                            refused, reset, DNS, broken stream
    │   └── MalformedResponse                           body not JSON / missing fields / unknown values
    ├── UnknownModel(name, suggestions)                 no such model or alias
    ├── BudgetExceeded(client, spent, reserved, cap)    a budget would be overspent
    ├── AllRoutesFailed(attempts, message)              every candidate failed or was excluded
    └── MeteringError                                   usage records could not be written
        ├── LedgerUnavailable(location, cause)          the usage database cannot be written now
        └── RecordRejected(cause)                       a record's own values cannot be stored

Messages never contain API keys: adapters build them from status codes and provider error
bodies only, and `redact()` scrubs anything key-shaped as a last line of defence. A value a
caller sent is quoted through `clip()`: at most ~100 characters of it come back.
"""

from __future__ import annotations

import re
from typing import Any

_KEY_PATTERN = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|gsk_[A-Za-z0-9]{8,}"
    r"|xai-[A-Za-z0-9]{8,}|(?i:bearer)\s+[A-Za-z0-9._\-]{8,})"
)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove known secrets and anything shaped like an API key."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _KEY_PATTERN.sub("[redacted]", text)


def redact_value(value: Any, secrets: tuple[str, ...]) -> Any:
    """`value` (a decoded JSON body: dicts, lists, strings) with `secrets` removed from every
    string in it, keys included."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact_value(k, secrets): redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v, secrets) for v in value)
    return value


MAX_ECHO = 100
"""The most characters of a rejected value an error message repeats."""


def clip(value: object, limit: int = MAX_ECHO) -> str:
    """`value` as text for an error message: whole when short, else its start and its size."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


_LONG_ECHO = re.compile(rf"'[^'\n]{{{MAX_ECHO + 1},}}'|\"[^\"\n]{{{MAX_ECHO + 1},}}\"|\S{{{MAX_ECHO + 1},}}")


def clip_echoes(message: str) -> str:
    """An error message as it leaves for a caller: any quoted value or unbroken run longer than
    MAX_ECHO characters (a rejected value, echoed by a message built anywhere) is clipped."""
    return _LONG_ECHO.sub(lambda m: clip(m.group()), message)


class RouterError(Exception):
    """Base of every error mcp-router raises on purpose."""


class ProviderError(RouterError):
    """One provider call failed. `retryable` says whether the same endpoint may be tried again."""

    retryable = False

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        model: str | None = None,
        body: Any = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.model = model
        self.message = redact(message)
        self.body = body
        where = f"{provider} HTTP {status}" if status is not None else provider
        super().__init__(f"{where}: {self.message}")

    @property
    def kind(self) -> str:
        """The error class name, as recorded in attempts."""
        return type(self).__name__

    def scrub(self, secrets: tuple[str, ...]) -> None:
        """Remove `secrets` (an adapter's own key, whatever its shape) from the message, the
        body and the exception text, in place: a provider or proxy may echo the key back."""
        secrets = tuple(s for s in secrets if s)
        if not secrets:
            return
        self.message = redact(self.message, secrets)
        self.body = redact_value(self.body, secrets)
        self.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in self.args)


class RateLimited(ProviderError):
    retryable = True

    def __init__(self, provider: str, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(provider, message, **kw)


class Overloaded(ProviderError):
    retryable = True

    def __init__(self, provider: str, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(provider, message, **kw)


class ServerError(ProviderError):
    retryable = True


class ContextTooLong(ProviderError):
    pass


class AuthFailed(ProviderError):
    pass


class BadRequest(ProviderError):
    """The provider refused the request itself.

    `endpoint_specific` says whether the refusal is about this endpoint or model (an id it
    does not serve, a parameter one model rejects) rather than about the request's shape: the
    router then falls back to the next endpoint instead of skipping the whole wire protocol.
    """

    endpoint_specific = False

    def __init__(
        self, provider: str, message: str, *, endpoint_specific: bool | None = None, **kw: Any
    ) -> None:
        if endpoint_specific is not None:
            self.endpoint_specific = endpoint_specific
        super().__init__(provider, message, **kw)


class ModelNotFound(BadRequest):
    """The endpoint does not know the model id (OpenAI `model_not_found`, OpenRouter "not a
    valid model ID", Anthropic `not_found_error`, Gemini `NOT_FOUND`, Ollama "not found")."""

    endpoint_specific = True


class UnsupportedParameter(BadRequest):
    """One model rejects a parameter or value others accept (OpenAI `unsupported_parameter`,
    `unsupported_value`, e.g. `temperature` on a reasoning model)."""

    endpoint_specific = True


class ProviderTimeout(ProviderError):
    retryable = True


class ConnectionFailed(ProviderError):
    retryable = True


class MalformedResponse(ProviderError):
    pass


class UnknownModel(RouterError):
    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = suggestions or []
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"Unknown model {clip(name)!r}.{hint} Call list_models to see available ids.")


class BudgetExceeded(RouterError):
    """A call's worst case would pass a cap. `spent_usd` is money already spent (committed, or
    settled by a call not yet recorded); `reserved_usd` is held by calls still in flight, at
    their worst case, and comes back when they finish; `requested_usd` is this call's hold."""

    def __init__(
        self,
        client: str,
        period: str,
        spent_usd: Any,
        cap_usd: Any,
        resets_at: str,
        *,
        reserved_usd: Any = 0,
        requested_usd: Any = None,
        hint: str = "",
    ) -> None:
        self.client = client
        self.period = period
        self.spent_usd = spent_usd
        self.reserved_usd = reserved_usd
        self.cap_usd = cap_usd
        self.requested_usd = requested_usd
        self.resets_at = resets_at
        self.hint = hint
        held = f" and ${reserved_usd} is reserved by calls in flight" if reserved_usd else ""
        needs = f"; this call would hold ${requested_usd}" if requested_usd is not None else ""
        super().__init__(
            f"{period.capitalize()} budget for client {clip(client)!r} exceeded: spent ${spent_usd} of "
            f"${cap_usd}{held}{needs}. {hint + ' ' if hint else ''}It resets at {resets_at}. "
            "Raise the cap in the config or wait."
        )

    def with_hint(self, hint: str) -> BudgetExceeded:
        """The same refusal, with advice about the call that was refused."""
        return BudgetExceeded(
            self.client,
            self.period,
            self.spent_usd,
            self.cap_usd,
            self.resets_at,
            reserved_usd=self.reserved_usd,
            requested_usd=self.requested_usd,
            hint=hint,
        )


class ClientRateLimited(RouterError):
    """A client (an issued key) sent more requests this minute than its `rpm` allows; the
    HTTP faces answer 429 with `Retry-After: retry_after_s` (rounded up)."""

    def __init__(self, client: str, rpm: int, retry_after_s: float) -> None:
        self.client = client
        self.rpm = rpm
        self.retry_after_s = retry_after_s
        super().__init__(
            f"Rate limit for client {clip(client)!r}: {rpm} requests per minute. "
            f"Retry after {max(1, int(retry_after_s + 0.999))} s."
        )


class KeyRevoked(RouterError):
    """The issued key a call runs under was revoked (after the call was admitted, or between
    the turns of its work); the HTTP faces answer 401."""

    def __init__(self, client: str) -> None:
        self.client = client
        super().__init__(f"The key {clip(client)!r} was revoked: its calls are refused. Use another key.")


class ModelNotAllowed(RouterError):
    """Every model a call could use is outside the caller's model allowlist (an issued key's
    `--models` patterns); the HTTP faces answer 403."""

    def __init__(self, client: str, patterns: tuple[str, ...], requested: str) -> None:
        self.client = client
        self.patterns = patterns
        self.requested = requested
        super().__init__(
            f"Model {clip(requested)!r} is outside the allowlist of client {clip(client)!r} "
            f"({', '.join(patterns)}). Use a model matching it (list_models shows ids)."
        )


class AllRoutesFailed(RouterError):
    def __init__(self, message: str, attempts: list[Any] | None = None) -> None:
        self.attempts = attempts or []
        super().__init__(message)


class MeteringError(RouterError):
    """Usage records could not be written (the writer is closed, or the database keeps failing)."""


_CORRUPT_SIGNS = ("not a database", "malformed", "disk image")  # SQLite's words for a damaged file


class LedgerUnavailable(MeteringError):
    """The usage database cannot be opened, read or written now (disk full, I/O error,
    read-only or corrupt file, locked past the retry window: `busy`). While it cannot be
    written, new calls are refused: a call that cannot be recorded must not be made. Writing
    recovers by itself once a write succeeds again."""

    def __init__(self, location: str, cause: str, *, action: str = "written", busy: bool = False) -> None:
        self.location = location
        self.cause = cause
        self.action = action
        self.busy = busy
        self.corrupt = any(sign in cause for sign in _CORRUPT_SIGNS)
        if self.corrupt:
            advice = (
                f"the file is corrupt: move it aside (mv '{location}' '{location}.corrupt') and a new "
                "one is created at the next start, or point MCP_ROUTER_DB elsewhere."
            )
        elif action == "written":
            advice = (
                "new calls are refused meanwhile, since they could not be recorded. Free disk "
                "space or fix the file; calls resume by themselves once it is writable."
            )
        else:
            advice = "check the file (`mcp-router doctor`) or point MCP_ROUTER_DB elsewhere."
        super().__init__(f"The usage database {location} cannot be {action} ({cause}): {advice}")


class RecordRejected(MeteringError):
    """One record's own values cannot be stored (an integer too large, a lone surrogate, a
    violated constraint): it would fail on every retry, whatever the database's state."""

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(f"a usage record cannot be stored: {cause}")
