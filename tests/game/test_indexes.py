"""Reads that grow with the programme find their rows by an index, not by reading a whole table: a customer's
own rows (badges, challenges, standings, the events a refund replays) and a challenge's backfill walking
events in time. Checked on the query plans of both databases; PostgreSQL is told to avoid a sequential scan
where it can, since on a test's few rows it would rightly prefer one, so only a missing index leaves one."""

from __future__ import annotations

import re

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import get_current_context
from tortoise.transactions import in_transaction

ALICE = "'6f1c8d2e-4b7a-4c1e-9f3d-2a5b8c7d9e01'"

# (the query's shape, as the code sends it, and the column its index condition must name)
READS = {
    "a refund's replay of the customer's events (game/events/history.py)": (
        f"SELECT e.id FROM event e WHERE e.customer_id = {ALICE} AND e.processed_at IS NOT NULL "
        "AND e.type IN ('purchase') ORDER BY e.occurred_at, e.id",
        "customer_id",
    ),
    "the customer's badge levels (game/badges/service.py)": (
        f"SELECT id, badge_id, level FROM badge_award WHERE customer_id = {ALICE} ORDER BY level",
        "customer_id",
    ),
    "the customer's badge progress (game/badges/service.py)": (
        f"SELECT id, badge_id FROM badge_progress WHERE customer_id = {ALICE}",
        "customer_id",
    ),
    "the customer's completed challenges (game/challenges/service.py)": (
        f"SELECT id FROM challenge_progress WHERE customer_id = {ALICE} AND completions > 0",
        "customer_id",
    ),
    "the customer's standings on the live boards (game/leaderboards/service.py)": (
        f"SELECT id, board_id, season, score FROM leaderboard_score WHERE customer_id = {ALICE} "
        "AND board_id IN (1, 2, 3)",
        "customer_id",
    ),
    "a challenge's backfill, events in time (game/challenges/backfill.py)": (
        "SELECT id FROM event WHERE type IN ('purchase', 'check_in') AND occurred_at >= '2026-01-01' "
        "ORDER BY occurred_at, id LIMIT 500",
        "occurred_at",
    ),
}


INDEX_USED = re.compile(r"(?:Index(?: Only)? Scan using|Bitmap Index Scan on) (\w+)")


async def _leads_an_index_used(conn: BaseDBAsyncClient, plan: str, column: str) -> bool:
    """PostgreSQL: an index the plan uses has `column` first (it would scan a whole index whose later
    column it is, a sequential scan in all but name)."""
    for name in INDEX_USED.findall(plan):
        [row] = await conn.execute_query_dict("SELECT indexdef FROM pg_indexes WHERE indexname = $1", [name])
        if str(row["indexdef"]).split("(", 1)[1].startswith(column):
            return True
    return False


def _searches_by(plan: str, column: str) -> bool:
    """SQLite: "SEARCH <table> USING INDEX <name> (<column>=?)" (or a range, <column>>?): the index leads
    with the column; a scan says SCAN."""
    return any(
        line.startswith("SEARCH") and "INDEX" in line and f"({column}" in line for line in plan.splitlines()
    )


@pytest.mark.parametrize("read", sorted(READS))
async def test_a_read_that_grows_with_the_programme_uses_an_index(read: str) -> None:
    query, column = READS[read]
    context = get_current_context()
    assert context is not None
    dialect = context.db().capabilities.dialect
    async with in_transaction() as conn:
        if dialect == "postgres":
            await conn.execute_script("SET LOCAL enable_seqscan = off")
            rows = await conn.execute_query_dict(f"EXPLAIN {query}")
            plan = "\n".join(str(row["QUERY PLAN"]) for row in rows)
            found = await _leads_an_index_used(conn, plan, column)
        else:
            rows = await conn.execute_query_dict(f"EXPLAIN QUERY PLAN {query}")
            plan = "\n".join(str(row["detail"]) for row in rows)
            found = _searches_by(plan, column)
    assert found, f"{read}:\n{plan}"
