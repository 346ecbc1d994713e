"""A customer's past events as the engine counts them now: what a fold over history starts from when a refund
asks "does this still hold?".

A purchase counts with what is left of it after its refunds (`amount_cents` lowered by the refunded amount),
and not at all once fully refunded. Refunds say how much, not which items, so a partial refund leaves the
purchase's items, quantities and categories as they were. An event withdrawn whole (a cancelled redemption, a
referral clawed back: game/events/models.py EventWithdrawal) counts for nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from game.events.models import Event
from game.rules.facts import facts_of
from game.sql import fetch_all, placeholders


@dataclass(frozen=True, slots=True)
class Past:
    id: int
    type: str
    occurred_at: datetime
    facts: dict[str, Any]

    def day(self, tz: ZoneInfo) -> date:
        return self.occurred_at.astimezone(tz).date()


def remaining_facts(
    event_type: str, payload: dict[str, Any], refunded_cents: int | None
) -> dict[str, Any] | None:
    """The facts an event counts with now: None for a purchase refunded in full."""
    facts = facts_of(event_type, payload)
    if event_type != "purchase" or not refunded_cents:
        return facts
    left = int(payload.get("amount_cents") or 0) - refunded_cents
    return None if left <= 0 else facts | {"amount_cents": left}


@dataclass(frozen=True, slots=True)
class Counting:
    """Which processed events a definition counted: those evaluated once it was live; all of them (a finished
    backfill); or those and, of the ones evaluated before, what a running backfill has reached: it goes in
    (occurred_at, id) order, and `backfilled_to` is its cursor, as stored (the last event it counted)."""

    published_at: datetime | None
    published_generation: int | None = None
    everything: bool = False
    backfilled_to: tuple[Any, int] | None = None


async def history(
    conn: BaseDBAsyncClient,
    customer_id: UUID,
    types: frozenset[str],
    counted: Counting,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Past]:
    """The customer's processed events of `types` in [since, until), in the order they happened; those
    withdrawn whole (a cancelled redemption) left out."""
    sql = (
        "SELECT e.id, e.type, e.payload, e.occurred_at, p.refunded_cents FROM event e "
        "LEFT JOIN purchase p ON p.event_id = e.id LEFT JOIN event_withdrawal w ON w.event_id = e.id "
        "WHERE e.customer_id = $1 AND e.processed_at IS NOT NULL AND w.id IS NULL "
        "AND e.type IN (" + placeholders(len(types), first=2) + ")"
    )
    params: list[Any] = [customer_id, *sorted(types)]

    def condition(clause: str, *values: Any) -> None:
        nonlocal sql
        for value in values:
            params.append(value)
            clause = clause.replace("?", f"${len(params)}", 1)
        sql += " AND " + clause

    if since is not None:
        condition("e.occurred_at >= ?", since)
    if until is not None:
        condition("e.occurred_at < ?", until)
    counting = _counted(counted)
    if counting is not None:
        condition(counting[0], *counting[1])
    rows = await fetch_all(conn, sql + " ORDER BY e.occurred_at, e.id", *params)
    found = []
    for row in rows:
        payload = row["payload"]
        payload = json.loads(payload) if isinstance(payload, str) else payload
        facts = remaining_facts(row["type"], payload, row["refunded_cents"])
        if facts is not None:
            found.append(Past(row["id"], row["type"], _utc(row["occurred_at"]), facts))
    return found


async def facts_now(conn: BaseDBAsyncClient, events: Sequence[Event]) -> dict[int, dict[str, Any] | None]:
    """What each of these events counts with now, by id: None for one refunded in full or withdrawn. For a
    reader of past events outside a customer's history (a challenge's backfill)."""
    if not events:
        return {}
    rows = await fetch_all(
        conn,
        "SELECT e.id, p.refunded_cents, w.id AS withdrawal_id FROM event e "
        "LEFT JOIN purchase p ON p.event_id = e.id LEFT JOIN event_withdrawal w ON w.event_id = e.id "
        f"WHERE e.id IN ({placeholders(len(events))})",
        *(event.id for event in events),
    )
    state = {int(row["id"]): row for row in rows}
    now: dict[int, dict[str, Any] | None] = {}
    for event in events:
        row = state[event.id]
        withdrawn = row["withdrawal_id"] is not None
        refunded = row["refunded_cents"]
        now[event.id] = None if withdrawn else remaining_facts(event.type, event.payload, refunded)
    return now


def _counted(counted: Counting) -> tuple[str, list[Any]] | None:
    """The condition (and its values) that keeps the events a definition counted; None: all of them."""
    if counted.everything:
        return None
    value: int | datetime
    if counted.published_generation is not None:
        live, value = "e.rules_generation >= ?", counted.published_generation
    elif counted.published_at is not None:
        live, value = "e.processed_at >= ?", counted.published_at
    else:
        return None
    if counted.backfilled_to is None:
        return live, [value]
    at, event_id = counted.backfilled_to
    reached = "e.occurred_at < ? OR (e.occurred_at = ? AND e.id <= ?)"
    return f"({live} OR {reached})", [value, at, at, event_id]


def _utc(value: datetime | str) -> datetime:
    # asyncpg returns aware datetimes; SQLite the ISO text tortoise stored.
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
