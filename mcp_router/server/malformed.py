"""What to do with a stdio line the SDK could not read as a JSON-RPC message (pure: no I/O).

The SDK's stdio transport validates each line and, when that fails, hands the exception to the
server, which drops it: the client then waits for an answer until its timeout. `triage` turns
the exception into one of three outcomes:

- `Repaired`: valid JSON the SDK's strict parser refused only for a lone UTF-16 surrogate
  escape (`"\\ud800"`, what JavaScript's `JSON.stringify` emits for half an emoji); each lone
  surrogate becomes U+FFFD and the message is served normally.
- `Rejected`: not JSON-RPC; the client gets `-32700` (not JSON) or `-32600` (JSON, but not a
  request we serve: a batch array, a wrong `jsonrpc`, no `method`...), with the message's `id`
  when one can be read, else null.
- `None`: nothing to answer (a blank line, or a malformed *response* from the client).

Messages name the rule that was broken, never the offending text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from pydantic import ValidationError

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
MAX_ID_CHARS = 256
"""A readable string id longer than this is not echoed (the answer carries id null)."""

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Repaired:
    message: types.JSONRPCMessage


@dataclass(frozen=True)
class Rejected:
    id: int | str | None
    code: int
    reason: str

    def error(self) -> types.JSONRPCError:
        kind = "Parse error" if self.code == PARSE_ERROR else "Invalid Request"
        return types.JSONRPCError(
            jsonrpc="2.0", id=self.id, error=types.ErrorData(code=self.code, message=f"{kind}: {self.reason}")
        )


def triage(exc: Exception) -> Repaired | Rejected | None:
    """The outcome for an exception the SDK's stdio reader put on the read stream."""
    if not isinstance(exc, ValidationError):
        return Rejected(None, PARSE_ERROR, "the line could not be read as JSON-RPC")
    errors = exc.errors(include_url=False)
    if errors and errors[0]["type"] == "json_invalid" and isinstance(errors[0].get("input"), str):
        return _from_text(errors[0]["input"], errors[0]["msg"])
    return _shape(_whole_input(errors))


def _from_text(line: str, strict_msg: str) -> Repaired | Rejected | None:
    if not line.strip():
        return None
    try:
        value = json.loads(line, parse_constant=_no_constants)
    except RecursionError:
        return Rejected(None, PARSE_ERROR, "nesting too deep")
    except ValueError as err:
        return Rejected(_lenient_id(line), PARSE_ERROR, f"not valid JSON ({_first_line(err)})")
    try:
        clean = _replace_surrogates(value)
        return Repaired(types.jsonrpc_message_adapter.validate_json(json.dumps(clean), by_name=False))
    except RecursionError:
        return Rejected(_id_of(value), PARSE_ERROR, "nesting too deep")
    except ValidationError as again:
        errors = again.errors(include_url=False)
    if errors and errors[0]["type"] == "json_invalid":
        reason = "nesting too deep" if "recursion" in errors[0]["msg"] else _strip(strict_msg)
        return Rejected(_id_of(clean), PARSE_ERROR, reason)
    return _shape(clean)


def _shape(value: Any) -> Rejected | None:
    """-32600 for JSON that is not one JSON-RPC request or notification."""
    if isinstance(value, list):
        return Rejected(None, INVALID_REQUEST, "batch arrays are not supported; send one message per line")
    if not isinstance(value, dict):
        return Rejected(None, INVALID_REQUEST, "a JSON-RPC message is a JSON object")
    if "method" not in value and ("result" in value or "error" in value):
        return None  # a malformed response to one of our requests: answering it would be a reply to a reply
    id_ = _id_of(value)
    if value.get("jsonrpc") != "2.0":
        return Rejected(id_, INVALID_REQUEST, '`jsonrpc` must be "2.0"')
    if "method" not in value:
        return Rejected(id_, INVALID_REQUEST, "missing `method`")
    if not isinstance(value["method"], str):
        return Rejected(id_, INVALID_REQUEST, "`method` must be a string")
    if "id" in value and id_ is None and value["id"] is not None:
        return Rejected(None, INVALID_REQUEST, "`id` must be an integer or a string")
    if "params" in value and not isinstance(value["params"], dict):
        return Rejected(id_, INVALID_REQUEST, "`params` must be an object")
    return Rejected(id_, INVALID_REQUEST, "not a JSON-RPC 2.0 request or notification")


def _whole_input(errors: list[Any]) -> Any:
    """The parsed message, from the union errors: a member-level error (loc of one part) or a
    missing top-level field carries the whole value as its input."""
    for err in errors:
        loc = err.get("loc", ())
        if len(loc) == 1 or (len(loc) == 2 and err["type"] == "missing"):
            return err.get("input")
    return None


def _id_of(value: Any) -> int | str | None:
    if not isinstance(value, dict):
        return None
    id_ = value.get("id")
    if isinstance(id_, int) and not isinstance(id_, bool):
        return id_
    if isinstance(id_, str) and len(id_) <= MAX_ID_CHARS:
        return id_
    return None


def _lenient_id(line: str) -> int | str | None:
    """The id of a line that is JSON but for raw control characters (a NUL byte) in strings."""
    try:
        return _id_of(json.loads(line, strict=False, parse_constant=_no_constants))
    except (ValueError, RecursionError):
        return None


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _first_line(err: ValueError) -> str:
    return _strip(str(err).splitlines()[0] if str(err) else type(err).__name__)


def _strip(msg: str) -> str:
    return msg.removeprefix("Invalid JSON: ")[:120]
