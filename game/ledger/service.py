"""Posting to the ledger and reading it back. Every point that moves goes through `post_entry`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.functions import Sum

from game.errors import bad_input
from game.ledger.models import Balance, EntryKind, LedgerEntry
from game.sql import fetch_all, fetch_one, insert, placeholders

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class Posted:
    id: int
    balance_after: int


async def post_entry(
    conn: BaseDBAsyncClient,
    *,
    customer_id: UUID,
    delta: int,
    kind: EntryKind,
    reason: str,
    award_key: str,
    event_id: int | None = None,
) -> Posted:
    """Appends one entry and moves the cached balance with it; `conn` must be an open transaction.

    The balance update comes first: it locks the customer's balance row, so concurrent postings for one
    customer queue up and each entry's balance_after is exact.
    """
    now = datetime.now(UTC)
    if conn.capabilities.dialect == "postgres":
        # Both in one statement, one round trip less while the balance row is locked. No row when the
        # customer has no balance yet: then the two steps below.
        row = await fetch_one(
            POST_SQL, customer_id, delta, kind.value, reason[:200], award_key, event_id, now, conn=conn
        )
        if row is not None:
            return Posted(int(row["id"]), int(row["balance_after"]))
    balance = await _add_to_balance(conn, customer_id, delta)
    entry_id = await insert(
        conn,
        "ledger_entry",
        {
            "customer_id": customer_id,
            "delta": delta,
            "balance_after": balance,
            "kind": kind.value,
            "reason": reason[:200],
            "award_key": award_key,
            "event_id": event_id,
            "created_at": now,
        },
    )
    return Posted(entry_id, balance)


# PostgreSQL's data-modifying CTE; SQLite has none, and runs one writer at a time anyway.
POST_SQL = (
    "WITH b AS (UPDATE balance SET points = points + $2 WHERE customer_id = $1 RETURNING points) "
    "INSERT INTO ledger_entry "
    "(customer_id, delta, balance_after, kind, reason, award_key, event_id, created_at) "
    "SELECT $1::uuid, $2::bigint, b.points, $3::varchar, $4::varchar, $5::varchar, $6::bigint, "
    "$7::timestamptz FROM b RETURNING id, balance_after"
)


async def _add_to_balance(conn: BaseDBAsyncClient, customer_id: UUID, delta: int) -> int:
    postgres = conn.capabilities.dialect == "postgres"
    sql = (
        "UPDATE balance SET points = points + $1 WHERE customer_id = $2 RETURNING points"
        if postgres
        else "UPDATE balance SET points = points + ? WHERE customer_id = ? RETURNING points"
    )
    # execute_query_dict: tortoise's execute_query drops the RETURNING rows of an UPDATE on asyncpg.
    rows = await conn.execute_query_dict(sql, [delta, customer_id if postgres else str(customer_id)])
    if rows:
        return int(rows[0]["points"])
    # Customers made before balances existed (or by hand) get their row on first posting.
    await Balance.create(using_db=conn, customer_id=customer_id, points=delta)
    return delta


async def balance_of(customer_id: UUID, conn: BaseDBAsyncClient | None = None) -> int:
    query = Balance.filter(customer_id=customer_id)
    balance = await (query.using_db(conn) if conn else query).first()
    return balance.points if balance is not None else 0


async def balances_of(customer_ids: list[UUID]) -> dict[UUID, int]:
    if not customer_ids:
        return {}
    listed = placeholders(len(customer_ids))
    rows = await fetch_all(
        get_connection("default"),
        f"SELECT customer_id, points FROM balance WHERE customer_id IN ({listed})",
        *customer_ids,
    )
    return {UUID(str(row["customer_id"])): int(row["points"]) for row in rows}


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[LedgerEntry]
    has_next: bool


async def history(customer_id: UUID, *, first: int = 20, before_id: int | None = None) -> Page:
    """Newest first; `before_id` is the id of the last entry of the previous page."""
    if not 1 <= first <= MAX_PAGE:
        raise bad_input(f"first must be between 1 and {MAX_PAGE}", "first")
    # Hand-written: every home screen reads this page, and the ORM's query building cost more than the query.
    sql = f"SELECT {_ENTRY_COLUMNS} FROM ledger_entry WHERE customer_id = $1"
    params: list[Any] = [customer_id]
    if before_id is not None:
        sql += " AND id < $2"
        params.append(before_id)
    sql += f" ORDER BY id DESC LIMIT {first + 1}"  # an int checked above
    rows = [
        LedgerEntry._init_from_db(**row) for row in await fetch_all(get_connection("default"), sql, *params)
    ]
    return Page(entries=rows[:first], has_next=len(rows) > first)


_ENTRY_COLUMNS = ", ".join(LedgerEntry._meta.db_fields)


@dataclass(frozen=True, slots=True)
class Drift:
    customer_id: UUID
    cached: int
    ledger: int


async def find_drift() -> list[Drift]:
    """Customers whose cached balance differs from the sum of their entries (should always be empty)."""
    sums = dict(
        await LedgerEntry.annotate(total=Sum("delta"))
        .group_by("customer_id")
        .values_list("customer_id", "total")
    )
    drift = []
    for customer_id, points in await Balance.all().values_list("customer_id", "points"):
        total = int(sums.pop(customer_id, 0) or 0)
        if total != points:
            drift.append(Drift(UUID(str(customer_id)), int(points), total))
    drift.extend(Drift(UUID(str(cid)), 0, int(total or 0)) for cid, total in sums.items())
    return drift


__all__ = ["Page", "balance_of", "balances_of", "find_drift", "history", "post_entry"]
