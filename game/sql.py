"""Hand-written SQL for the few lookups on the hot path (the ORM's query builder costs more CPU than the
query itself there). Written once with PostgreSQL's `$n` placeholders; SQLite gets `?`."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from tortoise.connection import get_connection

_PLACEHOLDER = re.compile(r"\$\d+")


async def fetch_one(sql: str, *params: Any) -> dict[str, Any] | None:
    conn = get_connection("default")
    if conn.capabilities.dialect != "postgres":
        # Placeholders must appear in order ($1, $2, ...); SQLite stores UUIDs as text.
        sql = _PLACEHOLDER.sub("?", sql)
        params = tuple(str(p) if isinstance(p, UUID) else p for p in params)
    rows = await conn.execute_query_dict(sql, list(params))
    return dict(rows[0]) if rows else None
