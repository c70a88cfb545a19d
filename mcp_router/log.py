"""The one place logging is configured: structlog (and stdlib logging) to stderr, never stdout.

stdout is the MCP stdio channel; a single stray byte there corrupts the session, so every
handler here writes to stderr. The level comes from `MCP_ROUTER_LOG_LEVEL` (default WARNING,
so a stdio server stays quiet unless asked).

Library code takes its loggers from `get_logger`: they follow structlog's configuration once
someone configures it (the CLI does, here), and until then write warnings and errors to stderr,
never stdout (structlog's own default prints every level to stdout, which would put one line per
completion into the output of a program that merely uses the library).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

import structlog

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40, "CRITICAL": 50}


def level_from_env(env: Mapping[str, str]) -> int:
    return _LEVELS.get(env.get("MCP_ROUTER_LOG_LEVEL", "WARNING").strip().upper(), logging.WARNING)


def configure_logging(env: Mapping[str, str]) -> int:
    """Send structlog and stdlib logs to stderr at the configured level; return the level."""
    level = level_from_env(env)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"]),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    return level


class _Stderr:
    """sys.stderr at write time (tests and hosts swap it after import)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _LibraryLogger:
    """A structlog logger for library modules: the configured one once structlog is configured,
    else warnings and errors to stderr."""

    def __init__(self, name: str) -> None:
        self._configured = structlog.get_logger(name)
        self._fallback = structlog.wrap_logger(
            structlog.PrintLogger(_Stderr()),  # type: ignore[arg-type]
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.KeyValueRenderer(key_order=["level", "event"]),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
            logger_name=name,
        )

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._configured if structlog.is_configured() else self._fallback, attr)


def get_logger(name: str) -> Any:
    """The logger library modules use (see the module docstring)."""
    return _LibraryLogger(name)
