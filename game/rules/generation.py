"""The rules generation: exactly which live definitions an event was evaluated against.

Every change the engine must see (publishing, pausing or archiving a challenge or a badge, configuring the
streak) calls `bump` first thing in its transaction: one counter in the database moves with the change, or
not at all. `process_event` reads the counter inside the event's transaction, reloads its cached snapshot of
the definitions when the counter moved (game/events/live_rules.py), and stamps the event with it.

Nothing can commit a change while an event is being evaluated: on PostgreSQL a change takes the rules lock
exclusively and an event's transaction takes it shared (`SHARED_LOCK_SQL`), and SQLite runs one write
transaction at a time anyway. So every event is evaluated wholly before a change or wholly after it, never
against a stale snapshot, and a backfill knows the events that did not see its challenge: those stamped with
an earlier generation. The database decides, not Redis, so a lost message or a wiped Redis cannot leave a
worker on old rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from game.sql import fetch_one

T = TypeVar("T")

# pg_advisory locks are per database; this number names the rules lock among them.
RULES_LOCK = 7_305_273
# For the FROM list of the event's first statement, before any row lock: see game/events/processing.py.
SHARED_LOCK_SQL = f"pg_advisory_xact_lock_shared({RULES_LOCK})"
# For a later statement of the event's transaction: `SELECT ..., {COLUMNS} FROM x {JOIN} WHERE ...`.
GENERATION_COLUMNS = "g.generation AS rules_generation, g.changed_at AS rules_changed_at"
GENERATION_JOIN = "LEFT JOIN rules_generation g ON g.id = 1"  # no row before the first change


@dataclass(frozen=True, slots=True)
class Generation:
    number: int  # 0 before the first change
    # With the number, tells this database's counter from a restored or emptied one's that counts the same
    # numbers again (tests empty their tables between tests): a snapshot is cached under both.
    changed_at: str | None

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> Generation:
        """From a row selected with GENERATION_COLUMNS."""
        number, changed_at = row["rules_generation"], row["rules_changed_at"]
        return cls(int(number or 0), None if changed_at is None else str(changed_at))


def _postgres(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


async def bump(conn: BaseDBAsyncClient) -> int:
    """Call first in the changing transaction, before it locks any row: events hold the rules lock while
    they wait for challenge rows (budgets), so taking it after a challenge row could deadlock."""
    if _postgres(conn):
        await conn.execute_query(f"SELECT pg_advisory_xact_lock({RULES_LOCK})")
    row = await fetch_one(
        "INSERT INTO rules_generation (id, generation, changed_at) VALUES (1, 1, $1)"
        " ON CONFLICT (id) DO UPDATE SET generation = rules_generation.generation + 1,"
        " changed_at = excluded.changed_at RETURNING generation",
        datetime.now(UTC),
        conn=conn,
    )
    assert row is not None
    return int(row["generation"])


async def current_generation(conn: BaseDBAsyncClient | None = None) -> Generation:
    row = await fetch_one(f"SELECT {GENERATION_COLUMNS} FROM (SELECT 1) AS one {GENERATION_JOIN}", conn=conn)
    assert row is not None
    return Generation.of_row(row)


@dataclass(slots=True)
class PerGeneration(Generic[T]):
    """Something the customers' screens derive from the live definitions (the active challenges, the badges
    they can see, their rules parsed), loaded again only when the rules generation moved: one small query per
    request instead of the whole list, parsed once per process and change."""

    load: Callable[[], Awaitable[T]]
    held: tuple[Generation, T] | None = None

    async def get(self) -> T:
        generation = await current_generation()
        if self.held is None or self.held[0] != generation or generation.changed_at is None:
            # Loaded after the generation was read: at worst newer than it, and the next request, seeing
            # a generation that differs, loads again.
            self.held = (generation, await self.load())
        return self.held[1]
