"""Hand-written SQL for the hot path, where the ORM's query building costs more CPU than the query.

Statements are written once with PostgreSQL's `$n` placeholders (in order); SQLite gets `?`. Only the
per-purchase and per-event statements use it; everything else goes through the tortoise models.
"""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

from asyncpg.exceptions import OperatorInterventionError, PostgresConnectionError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection

_PLACEHOLDER = re.compile(r"\$\d+")

# The database cannot be reached (refused, reset, timed out, shutting down): the request may be retried.
# OSError covers tortoise's DBConnectionError and TimeoutError.
UNAVAILABLE: tuple[type[Exception], ...] = (OSError, PostgresConnectionError, OperatorInterventionError)


def _prepare(conn: BaseDBAsyncClient, sql: str, params: tuple[Any, ...]) -> tuple[str, list[Any]]:
    postgres = conn.capabilities.dialect == "postgres"
    adapted = []
    for value in params:
        if isinstance(value, dict | list):
            value = json.dumps(value, separators=(",", ":"))
        elif isinstance(value, UUID) and not postgres:
            value = str(value)  # tortoise stores UUIDs as text in SQLite
        adapted.append(value)
    return (sql if postgres else _PLACEHOLDER.sub("?", sql)), adapted


def placeholders(count: int, first: int = 1) -> str:
    """`$first, …` for `count` values, numbered in order (an IN list, a row of VALUES)."""
    return ", ".join(f"${n}" for n in range(first, first + count))


async def fetch_one(sql: str, *params: Any, conn: BaseDBAsyncClient | None = None) -> dict[str, Any] | None:
    conn = conn or get_connection("default")
    sql, values = _prepare(conn, sql, params)
    rows = await conn.execute_query_dict(sql, values)
    return dict(rows[0]) if rows else None


async def fetch_all(conn: BaseDBAsyncClient, sql: str, *params: Any) -> list[dict[str, Any]]:
    sql, values = _prepare(conn, sql, params)
    return [dict(row) for row in await conn.execute_query_dict(sql, values)]


async def insert(conn: BaseDBAsyncClient, table: str, values: dict[str, Any]) -> int:
    """INSERT one row (dicts and lists as JSON) and return its id."""
    columns = ", ".join(f'"{column}"' for column in values)
    row = await fetch_one(
        f'INSERT INTO "{table}" ({columns}) VALUES ({placeholders(len(values))}) RETURNING id',
        *values.values(),
        conn=conn,
    )
    assert row is not None
    return int(row["id"])


async def execute(conn: BaseDBAsyncClient, sql: str, *params: Any) -> None:
    sql, values = _prepare(conn, sql, params)
    await conn.execute_query(sql, values)


async def affected(conn: BaseDBAsyncClient, sql: str, *params: Any) -> int:
    """How many rows an UPDATE or DELETE changed (tortoise does not count an INSERT's on asyncpg)."""
    sql, values = _prepare(conn, sql, params)
    count, _ = await conn.execute_query(sql, values)
    return int(count)


def prepared(conn: BaseDBAsyncClient, sql: str) -> str:
    """`sql` for `conn`'s dialect, to run many times with conn.execute_query (rows as tuples, not dicts)."""
    return _prepare(conn, sql, ())[0]
