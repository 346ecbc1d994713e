"""What happens to an event after it is recorded: the gamification engine runs here, in the worker."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from game.awards.service import Granted
from game.badges import evaluation as badges
from game.challenges import evaluation as challenges
from game.challenges.periods import local_day
from game.events.history import remaining_facts
from game.events.live_rules import live_rules
from game.events.models import Event
from game.events.reactions import Reacted, Reaction, Refunded, Situation
from game.leaderboards import engine as leaderboards
from game.leaderboards.ranking import Standing
from game.ledger.live import one_per_customer
from game.live import Update, publish_all
from game.referrals import evaluation as referrals
from game.rules.facts import facts_of
from game.rules.generation import GENERATION_COLUMNS, GENERATION_JOIN, SHARED_LOCK_SQL, Generation
from game.sql import execute, fetch_one
from game.streaks import service as streaks

# Events that take back another: a refund (part or all of a purchase), and those that withdraw an event
# whole through an EventWithdrawal row (game/events/models.py): a cancelled redemption, a referral clawed
# back (the referrer's referral_qualified event).
WITHDRAWING = frozenset({"refund", "redemption_cancelled", "referral_withdrawn"})

# Every capability the engine runs over an event, in this order: a new one is one line here. Challenges come
# first: their progress rows and budgets are locked before any reaction posts to the customer's balance.
# Referrals post to other customers' balances (the referee's upline), after the referee's own; leaderboards
# come last: they count what the others paid.
REACTIONS: tuple[Reaction, ...] = (
    challenges.react,
    badges.react,
    streaks.react,
    referrals.react,
    leaderboards.react,
)


class Outcome(StrEnum):
    PROCESSED = "processed"
    ALREADY_PROCESSED = "already_processed"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Processed:
    outcome: Outcome
    customer_id: UUID | None = None
    # Every award and withdrawal the reactions posted, in order; each queued its notification.
    awards: list[Granted] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    standings: list[Standing] = field(default_factory=list)
    # Events the reactions recorded, for the workers to process after commit.
    events: list[int] = field(default_factory=list)

    @property
    def notifications(self) -> list[str]:
        """The keys of the notifications this event queued, for delivery after commit."""
        return [award.key for award in self.awards]


async def process_event(event_id: int, tz: ZoneInfo) -> Processed:
    """Idempotent: the event row is locked and marked in the same transaction as the effects, so a run
    killed before commit leaves nothing behind and the next run does the whole work once.

    The customer's row is locked next, for the whole evaluation: two workers on two events of one customer
    take turns rather than meeting on the streak, progress rows and the balance in different orders. The
    only rows shared between customers, challenge budgets, are locked in challenge order.

    The first statement also takes the rules lock (shared), so the definitions cannot change under the
    evaluation, and the second reads their generation: see game/rules/generation.py.
    """
    async with in_transaction() as conn:
        locked = await _locked_event(conn, event_id)
        if locked is None:
            return Processed(Outcome.MISSING)
        event, refunded_cents, withdrawn = locked
        if event.processed_at is not None:
            return Processed(Outcome.ALREADY_PROCESSED, event.customer_id)
        tags, generation = await _locked_customer(conn, event.customer_id)
        reacted = Reacted()
        situation = Situation(
            conn=conn,
            event=event,
            # A withdrawn event evaluated only after its withdrawal counts nothing.
            facts=None if withdrawn else remaining_facts(event.type, event.payload, refunded_cents),
            tags=tags,
            rules=await live_rules(conn, generation),
            tz=tz,
            day=local_day(event.occurred_at, tz),
            refunded=await _refunded(conn, event) if event.type in WITHDRAWING else None,
            so_far=reacted,
        )
        for reaction in REACTIONS:
            reacted.add(await reaction(situation))
        await execute(
            conn,
            "UPDATE event SET processed_at = $1, rules_generation = $2 WHERE id = $3",
            datetime.now(UTC),
            generation.number,
            event.id,
        )
    return Processed(
        Outcome.PROCESSED,
        event.customer_id,
        reacted.awards,
        reacted.updates,
        reacted.standings,
        reacted.events,
    )


async def _locked_event(conn: BaseDBAsyncClient, event_id: int) -> tuple[Event, int | None, bool] | None:
    """The event, locked, how much of it was refunded when it is a purchase, and whether it was withdrawn."""
    # Raw SQL, here and for marking it processed: the ORM's query building cost more CPU than the query. The
    # id is a parameter, not part of the text: one prepared statement serves every event.
    sql = (
        "SELECT event.*, purchase.refunded_cents AS purchase_refunded_cents, "
        "event_withdrawal.id AS withdrawal_id FROM event "
        "LEFT JOIN purchase ON purchase.event_id = event.id "
        "LEFT JOIN event_withdrawal ON event_withdrawal.event_id = event.id"
    )
    if conn.capabilities.dialect == "postgres":
        # The rules lock is taken in this first statement, so that the next one, which reads the rules
        # generation, starts after it is granted and sees the last change that committed.
        sql += f" CROSS JOIN {SHARED_LOCK_SQL} WHERE event.id = $1 FOR UPDATE OF event"
    else:
        sql += " WHERE event.id = $1"
    row = await fetch_one(sql, event_id, conn=conn)
    if row is None:
        return None
    refunded = row.pop("purchase_refunded_cents")
    withdrawn = row.pop("withdrawal_id") is not None
    return Event._init_from_db(**row), refunded, withdrawn


async def _refunded(conn: BaseDBAsyncClient, refund: Event) -> Refunded | None:
    """The purchase a refund event applies to, as recorded and as what is left of it now; or the event a
    withdrawing event withdrew, counting nothing any more."""
    if refund.type != "refund":
        return await _withdrawn(conn, refund)
    row = await fetch_one(
        "SELECT p.refunded_cents, p.event_id FROM purchase p WHERE p.source = $1 AND p.order_id = $2 "
        "AND p.customer_id = $3",
        refund.source,
        refund.payload.get("order_id"),
        refund.customer_id,
        conn=conn,
    )
    if row is None:
        return None
    purchase = await Event.filter(id=row["event_id"]).using_db(conn).first()
    if purchase is None or purchase.processed_at is None:
        return None  # not evaluated yet: when it is, it counts with what is left of it
    payload: dict[str, Any] = purchase.payload
    remaining = remaining_facts(purchase.type, payload, int(row["refunded_cents"]))
    return Refunded(purchase, facts_of(purchase.type, payload), remaining)


async def _withdrawn(conn: BaseDBAsyncClient, by: Event) -> Refunded | None:
    row = await fetch_one("SELECT event_id FROM event_withdrawal WHERE by_event_id = $1", by.id, conn=conn)
    if row is None:
        return None
    event = await Event.filter(id=row["event_id"]).using_db(conn).first()
    if event is None or event.processed_at is None:
        return None  # not evaluated yet: when it is, it counts nothing
    return Refunded(event, facts_of(event.type, event.payload), None)


async def _locked_customer(conn: BaseDBAsyncClient, customer_id: UUID) -> tuple[list[str], Generation]:
    """The customer's tags, and the rules generation to evaluate with."""
    # NO KEY: rows that reference the customer (ledger entries, events) may still be inserted meanwhile.
    # Raw SQL: every event asks this, and the ORM would read the whole customer row.
    lock = " FOR NO KEY UPDATE OF c" if conn.capabilities.dialect == "postgres" else ""
    sql = f"SELECT c.tags, {GENERATION_COLUMNS} FROM customer c {GENERATION_JOIN} WHERE c.id = $1{lock}"
    row = await fetch_one(sql, customer_id, conn=conn)
    assert row is not None  # the event's foreign key
    tags: list[str] = json.loads(row["tags"])
    return tags, Generation.of_row(row)


async def announce(redis: Redis, processed: Processed) -> None:
    """After commit: live updates for what the event changed (a lost message loses nothing)."""
    # One round trip for all of an event's messages, however many challenges it moved.
    await publish_all(redis, one_per_customer(processed.updates))


async def unprocessed_event_ids(older_than: timedelta, limit: int, after: int = 0) -> list[int]:
    """Unprocessed events recorded longer ago than `older_than`, in id order from `after` on."""
    cutoff = datetime.now(UTC) - older_than
    rows = Event.filter(processed_at=None, recorded_at__lt=cutoff, id__gt=after).order_by("id").limit(limit)
    return list(await rows.values_list("id", flat=True))  # type: ignore[arg-type]
