"""Request and hold ids (mcp_router/core/ids.py): unique across processes sharing one database,
including a child forked from a router's process, which would otherwise replay its parent's."""

from __future__ import annotations

import os

from mcp_router.core.ids import new_id


def test_ids_are_uuid4_sized_hex_and_distinct() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_a_forked_child_draws_other_ids_than_its_parent() -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first id, then out without running the parent's cleanup
        os.write(write_end, new_id().encode())
        os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    assert status == 0 and len(child) == 32
    assert child != new_id()  # without the reseed at fork the child repeats this very id
