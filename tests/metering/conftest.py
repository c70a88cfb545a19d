"""Store fixtures: the store-level tests run against SQLite and PostgreSQL alike.

PostgreSQL needs a server: `MCP_ROUTER_TEST_PG_URL` names one (`.ci/run` starts a throwaway one).
Without it the PostgreSQL cases skip, saying why; under `CI=true` they fail instead, so CI can
never pass without having run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mcp_router.metering.factory import open_store
from mcp_router.metering.protocol import UsageStore

PG_ENV = "MCP_ROUTER_TEST_PG_URL"


def pg_base_url() -> str:
    url = os.environ.get(PG_ENV, "")
    if not url:
        reason = f"no PostgreSQL server: set {PG_ENV} (.ci/run starts one)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    base = pg_base_url()
    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgres"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "u.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def make_store(store_location: str) -> Callable[[], UsageStore]:
    """Opens a store on this test's database (each call: a new connection to the same one)."""
    return lambda: open_store(store_location)
