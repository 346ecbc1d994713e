"""Hand-written SQL for the hot path, where the ORM's query building costs more CPU than the query.

Statements are written once with PostgreSQL's `$n` placeholders (in order); SQLite gets `?`. Only the
per-purchase and per-event statements use it; everything else goes through the tortoise models.

On PostgreSQL the statements go straight to asyncpg, on the connection tortoise would have used (the
transaction's, under its lock, or one from its pool) and with tortoise's own translation of errors: its
client wraps each statement in three more layers (the translation, a connection wrapper, a debug log line)
and copies every row into a dict we would copy again, about a twentieth of a `recordPurchase` request's CPU.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from asyncpg import Record
from asyncpg.exceptions import (
    DataError,
    IntegrityConstraintViolationError,
    InvalidTransactionStateError,
    OperatorInterventionError,
    PostgresConnectionError,
    SyntaxOrAccessError,
)
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

_PLACEHOLDER = re.compile(r"\$\d+")
# JSON without spaces, by one encoder: json.dumps builds a new one for every call that passes an option.
compact_json = json.JSONEncoder(separators=(",", ":")).encode

# The database cannot be reached (refused, reset, timed out, shutting down): the request may be retried.
# OSError covers tortoise's DBConnectionError and TimeoutError.
UNAVAILABLE: tuple[type[Exception], ...] = (OSError, PostgresConnectionError, OperatorInterventionError)


def _prepare(conn: BaseDBAsyncClient, sql: str, params: tuple[Any, ...]) -> tuple[str, list[Any]]:
    postgres = conn.capabilities.dialect == "postgres"
    adapted = []
    for value in params:
        if isinstance(value, dict | list):
            value = compact_json(value)
        elif isinstance(value, UUID) and not postgres:
            value = str(value)  # tortoise stores UUIDs as text in SQLite
        adapted.append(value)
    return (sql if postgres else _PLACEHOLDER.sub("?", sql)), adapted


def placeholders(count: int, first: int = 1) -> str:
    """`$first, …` for `count` values, numbered in order (an IN list, a row of VALUES)."""
    return ", ".join(f"${n}" for n in range(first, first + count))


async def _asyncpg(conn: AsyncpgDBClient, method: str, sql: str, values: list[Any]) -> Any:
    """`method` (fetch, execute) of the asyncpg connection tortoise would use for `conn`, with its errors."""
    try:
        if isinstance(conn, TransactionWrapper):
            async with conn._lock:  # as tortoise: statements of one transaction never overlap
                return await getattr(conn._connection, method)(sql, *values)
        async with conn.acquire_connection() as connection:  # from the pool (made on first use)
            return await getattr(connection, method)(sql, *values)
    # tortoise's own translation (AsyncpgDBClient._translate_exceptions), which callers catch.
    except (SyntaxOrAccessError, DataError) as e:
        raise OperationalError(e) from e
    except IntegrityConstraintViolationError as e:
        raise IntegrityError(e) from e
    except InvalidTransactionStateError as e:
        raise TransactionManagementError(e) from e


async def _rows(
    conn: BaseDBAsyncClient, sql: str, params: tuple[Any, ...]
) -> list[Record] | list[dict[str, Any]]:
    sql, values = _prepare(conn, sql, params)
    if isinstance(conn, AsyncpgDBClient):
        rows: list[Record] = await _asyncpg(conn, "fetch", sql, values)
        return rows
    return await conn.execute_query_dict(sql, values)


async def fetch_one(sql: str, *params: Any, conn: BaseDBAsyncClient | None = None) -> dict[str, Any] | None:
    rows = await _rows(conn or get_connection("default"), sql, params)
    return dict(rows[0]) if rows else None


async def fetch_all(conn: BaseDBAsyncClient, sql: str, *params: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in await _rows(conn, sql, params)]


async def fetch_records(conn: BaseDBAsyncClient, sql: str, *params: Any) -> Sequence[Mapping[str, Any]]:
    """fetch_all without copying each row into a dict, for rows read once by column name."""
    return await _rows(conn, sql, params)


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
    if isinstance(conn, AsyncpgDBClient):
        await _asyncpg(conn, "execute", sql, values)
    else:
        await conn.execute_query(sql, values)


def prepared(conn: BaseDBAsyncClient, sql: str) -> str:
    """`sql` for `conn`'s dialect, to run many times with conn.execute_query (rows as tuples, not dicts)."""
    return _prepare(conn, sql, ())[0]
