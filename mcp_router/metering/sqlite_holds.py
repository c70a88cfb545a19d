"""The SQLite store's budget holds (the protocol is in protocol.py).

Every function runs on the store's connection, inside a transaction the store opened (writes:
`BEGIN IMMEDIATE`, so a reserve's check and insert are one atomic step for every process).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from mcp_router.metering.protocol import HoldDecision, HoldRequest, PeriodCap, PeriodSpend, decide

Adjustments = Mapping[str, int | None]  # hold id -> settled amount (nano-USD), or None: released


def apply_adjustments(conn: sqlite3.Connection, adjust: Adjustments) -> None:
    """Settle and release queued holds (a hold already gone is simply not found)."""
    settled = [(amount, hold_id) for hold_id, amount in adjust.items() if amount is not None]
    released = [(hold_id,) for hold_id, amount in adjust.items() if amount is None]
    if settled:
        conn.executemany("UPDATE budget_holds SET amount_nusd = ?, settled = 1 WHERE hold_id = ?", settled)
    if released:
        conn.executemany("DELETE FROM budget_holds WHERE hold_id = ?", released)


def retire_for_requests(conn: sqlite3.Connection, request_ids: Iterable[str]) -> None:
    """Delete the holds of requests whose records this transaction commits: their spend is in
    the rollup from now on. Costs one cheap probe when no hold exists (the common case)."""
    if conn.execute("SELECT EXISTS (SELECT 1 FROM budget_holds)").fetchone()[0]:
        conn.executemany("DELETE FROM budget_holds WHERE request_id = ?", [(r,) for r in request_ids])


def period_spend(
    conn: sqlite3.Connection, client: str, cap: PeriodCap, now_ms: int, adjust: Adjustments
) -> PeriodSpend:
    """Committed spend from the daily rollup, plus live holds (with `adjust` not yet applied
    taken into account), over the cap's whole days."""
    ((committed,),) = conn.execute(
        "SELECT COALESCE(SUM(cost_nusd), 0) FROM rollup "
        "WHERE grain = 'd' AND client = ? AND bucket_ms >= ? AND bucket_ms < ?",
        (client, cap.start_ms, cap.end_ms),
    ).fetchall()
    where = "WHERE client = ? AND day_ms >= ? AND day_ms < ? AND expires_ms > ?"
    args = (client, cap.start_ms, cap.end_ms, now_ms)
    if not adjust:  # a reserve (adjustments were applied first): summed in SQL, not row by row
        ((settled, reserved),) = conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN settled THEN amount_nusd END), 0), "
            f"COALESCE(SUM(CASE WHEN settled THEN 0 ELSE amount_nusd END), 0) FROM budget_holds {where}",
            args,
        ).fetchall()
        return PeriodSpend(cap, int(committed) + int(settled), int(reserved))
    spent, reserved = int(committed), 0
    rows = conn.execute(f"SELECT hold_id, amount_nusd, settled FROM budget_holds {where}", args)
    for hold_id, amount, settled in rows:
        if hold_id in adjust:
            new = adjust[hold_id]
            if new is not None:
                spent += new
        elif settled:
            spent += amount
        else:
            reserved += amount
    return PeriodSpend(cap, spent, reserved)


def reserve(conn: sqlite3.Connection, hold: HoldRequest) -> HoldDecision:
    """Drop expired holds, weigh the caps, insert the hold if it fits."""
    conn.execute("DELETE FROM budget_holds WHERE expires_ms <= ?", (hold.now_ms,))
    spend = [period_spend(conn, hold.client, cap, hold.now_ms, {}) for cap in hold.caps]
    decision = decide(hold.amount_nusd, spend)
    if decision.granted:
        conn.execute(
            "INSERT INTO budget_holds (hold_id, client, request_id, day_ms, amount_nusd, settled, "
            "expires_ms) VALUES (?, ?, ?, ?, ?, 0, ?)",
            (hold.hold_id, hold.client, hold.request_id, hold.day_ms, hold.amount_nusd, hold.expires_ms),
        )
    return decision
