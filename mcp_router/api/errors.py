"""The library API's own error: arguments a caller can fix."""

from __future__ import annotations


class InvalidArguments(ValueError):
    """Arguments a caller can fix; the message says how."""
