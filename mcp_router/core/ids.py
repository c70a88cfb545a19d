"""Random ids for requests and budget holds: uuid4-sized hex, drawn from one generator seeded
from os.urandom (no syscall per id) and reseeded in a forked child, which would otherwise repeat
its parent's ids. Uniqueness is what they need: none of them is a credential."""

from __future__ import annotations

import os
import random

_IDS = random.Random()
os.register_at_fork(after_in_child=_IDS.seed)


def new_id() -> str:
    """128 random bits as 32 hex digits."""
    return f"{_IDS.getrandbits(128):032x}"
