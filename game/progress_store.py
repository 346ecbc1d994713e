"""One customer's progress rows (challenges, badges), read and written a batch at a time.

An event moves up to dozens of progress rows; one statement per row was most of what evaluating an event cost.
On PostgreSQL each batch is one statement, its rows passed as one JSON array (`jsonb_to_recordset`): insert
the missing rows, lock them all, save the moved ones. SQLite (the embedded default, one writer at a time) does
the same row by row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from game.sql import execute, fetch_all, fetch_records, placeholders

# One encoder: json.dumps builds a new one for every call that passes an option.
_records = json.JSONEncoder(separators=(",", ":"), default=str).encode


def _steps_of(rows: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
    """Every row's steps (JSON from the database), decoded in one call: dozens of small documents cost
    json.loads' per-call overhead more than their parsing."""
    return json.loads("[" + ",".join(row["steps"] for row in rows) + "]") if rows else []


@dataclass(frozen=True, slots=True)
class Table:
    """A progress table: rows keyed by customer and `keys`, holding `steps` (JSON) and `counters`."""

    name: str
    key_types: tuple[tuple[str, str], ...]  # (column, PostgreSQL type)
    counter_types: tuple[tuple[str, str], ...]

    @property
    def keys(self) -> list[str]:
        return [column for column, _ in self.key_types]

    @property
    def counters(self) -> list[str]:
        return [column for column, _ in self.counter_types]

    def insert_into(self) -> str:
        columns = ["customer_id", *self.keys, "steps", *self.counters, "updated_at"]
        return f"INSERT INTO {self.name} ({', '.join(columns)})"

    @property
    def initial_counters(self) -> str:
        return ", ".join("0" if kind == "int" else "NULL" for _, kind in self.counter_types)

    @property
    def on_conflict(self) -> str:
        return f"ON CONFLICT (customer_id, {', '.join(self.keys)}) DO NOTHING"


CHALLENGE_PROGRESS = Table(
    "challenge_progress",
    key_types=(("challenge_id", "int"), ("period", "text")),
    counter_types=(("completions", "int"), ("completed_at", "timestamptz")),
)
BADGE_PROGRESS = Table(
    "badge_progress", key_types=(("badge_id", "int"),), counter_types=(("grants", "int"), ("level", "int"))
)

Key = tuple[Any, ...]


@dataclass(slots=True)
class Row:
    id: int
    key: Key
    steps: list[dict[str, Any]]
    counters: dict[str, Any]


def _columns(pairs: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{column} {kind}" for column, kind in pairs)


async def locked_rows(
    conn: BaseDBAsyncClient, table: Table, customer_id: UUID, wanted: dict[Key, list[dict[str, Any]]]
) -> dict[Key, Row]:
    """The customer's rows for the `wanted` keys, created (with the given steps) where missing, and locked
    in key order until the transaction ends: two transactions on the same rows queue rather than deadlock."""
    if not wanted:
        return {}
    if conn.capabilities.dialect != "postgres":
        return await _sqlite_rows(conn, table, customer_id, wanted)
    keys, counters = table.keys, table.counters
    records = _records(
        [{**dict(zip(keys, key, strict=True)), "steps": steps} for key, steps in wanted.items()]
    )
    selected = ["id", *keys, *counters, "steps"]
    columns, old_columns = ", ".join(selected), ", ".join(f"p.{c}" for c in selected)
    recordset = f"jsonb_to_recordset($2::jsonb) AS r({_columns(table.key_types)}, steps jsonb)"
    same_key = " AND ".join(f"p.{k} = r.{k}" for k in keys)
    # One round trip: lock the rows that exist, insert the others (a row inserted is this transaction's).
    rows = await fetch_records(
        conn,
        f"WITH r AS (SELECT * FROM {recordset}), "
        f"old AS (SELECT {old_columns} FROM {table.name} p JOIN r ON {same_key} "
        f"WHERE p.customer_id = $1 ORDER BY {', '.join(f'p.{k}' for k in keys)} FOR UPDATE OF p), "
        f"new AS ({table.insert_into()} SELECT $1::uuid, {', '.join(f'r.{k}' for k in keys)}, r.steps, "
        f"{table.initial_counters}, $3::timestamptz FROM r "
        f"WHERE NOT EXISTS (SELECT 1 FROM old p WHERE {same_key}) {table.on_conflict} RETURNING {columns}) "
        f"SELECT * FROM old UNION ALL SELECT * FROM new",
        customer_id,
        records,
        datetime.now(UTC),
    )
    found = {
        key: Row(row["id"], key, steps, {c: row[c] for c in counters})
        for row, steps in zip(rows, _steps_of(rows), strict=True)
        for key in [tuple(row[k] for k in keys)]
    }
    missing = {key: steps for key, steps in wanted.items() if key not in found}
    if missing:
        # Another transaction inserted one of them after this statement's snapshot: the next one sees it.
        found |= await locked_rows(conn, table, customer_id, missing)
    return found


async def save_rows(conn: BaseDBAsyncClient, table: Table, rows: list[Row]) -> None:
    if not rows:
        return
    counters = table.counters
    if conn.capabilities.dialect != "postgres":
        for row in rows:
            await execute(
                conn,
                f"UPDATE {table.name} SET steps = $1, "
                + "".join(f"{c} = ${n}, " for n, c in enumerate(counters, start=2))
                + f"updated_at = ${len(counters) + 2} WHERE id = ${len(counters) + 3}",
                row.steps,
                *(row.counters[c] for c in counters),
                datetime.now(UTC),
                row.id,
            )
        return
    records = _records([{"id": row.id, "steps": row.steps, **row.counters} for row in rows])
    await execute(
        conn,
        f"UPDATE {table.name} p SET steps = r.steps, "
        + "".join(f"{c} = r.{c}, " for c in counters)
        + f"updated_at = $2 FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, steps jsonb, "
        f"{_columns(table.counter_types)}) WHERE p.id = r.id",
        records,
        datetime.now(UTC),
    )


async def _sqlite_rows(
    conn: BaseDBAsyncClient, table: Table, customer_id: UUID, wanted: dict[Key, list[dict[str, Any]]]
) -> dict[Key, Row]:
    keys, counters = table.keys, table.counters
    where = " AND ".join(f"{k} = ${n}" for n, k in enumerate(keys, start=2))
    values = placeholders(len(keys) + 1, first=2)
    found = {}
    for key, steps in wanted.items():
        await execute(
            conn,
            f"{table.insert_into()} VALUES ($1, {values}, {table.initial_counters}, ${len(keys) + 3}) "
            f"{table.on_conflict}",
            customer_id,
            *key,
            steps,
            datetime.now(UTC),
        )
        [row] = await fetch_all(
            conn,
            f"SELECT id, steps, {', '.join(counters)} FROM {table.name} WHERE customer_id = $1 AND {where}",
            customer_id,
            *key,
        )
        found[key] = Row(row["id"], key, json.loads(row["steps"]), {c: row[c] for c in counters})
    return found
