"""The one place logging is configured: structlog (and stdlib logging) to stderr, never stdout.

stdout is the MCP stdio channel; a single stray byte there corrupts the session, so every
handler here writes to stderr. The level comes from `MCP_ROUTER_LOG_LEVEL` (default WARNING,
so a stdio server stays quiet unless asked).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping

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
