"""What happens to an event after it is recorded: the gamification engine runs here, in the worker."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from game.badges.evaluation import Earned, evaluate_badges
from game.badges.live import publish_earned
from game.challenges.evaluation import Completion, Moved, evaluate
from game.challenges.live import publish_progress
from game.challenges.periods import local_day
from game.customers.tags import in_audience
from game.events.live_rules import live_rules
from game.events.models import Event
from game.ledger.live import PointsChange, publish_points_change
from game.rules.facts import facts_of
from game.rules.generation import GENERATION_COLUMNS, GENERATION_JOIN, SHARED_LOCK_SQL, Generation
from game.sql import execute, fetch_one
from game.streaks.service import MilestoneReward, record_activity, reward_milestone


class Outcome(StrEnum):
    PROCESSED = "processed"
    ALREADY_PROCESSED = "already_processed"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Processed:
    outcome: Outcome
    customer_id: UUID | None = None
    moved: list[Moved] = field(default_factory=list)
    completions: list[Completion] = field(default_factory=list)
    badges: list[Earned] = field(default_factory=list)
    milestone: MilestoneReward | None = None

    @property
    def earned(self) -> list[Earned]:
        """Every badge level earned, by a challenge's completion or by a badge's own rule."""
        return [b for c in self.completions for b in c.badges] + self.badges

    @property
    def notifications(self) -> list[str]:
        """The keys of the notifications this event queued, for delivery after commit."""
        keys = [c.award_key for c in self.completions] + [b.award_key for b in self.earned]
        return keys + ([self.milestone.award_key] if self.milestone else [])

    @property
    def points_changes(self) -> list[PointsChange]:
        """The balance after each reward, in the order they were posted."""
        changes = []
        for c in self.completions:
            changes += [PointsChange(c.balance, c.points, "challenge")] if c.balance is not None else []
            changes += [PointsChange(b.balance, b.points, "badge") for b in c.badges if b.balance is not None]
        changes += [PointsChange(b.balance, b.points, "badge") for b in self.badges if b.balance is not None]
        if self.milestone is not None:
            changes.append(PointsChange(self.milestone.balance, self.milestone.points, "streak"))
        return changes


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
        event = await _locked_event(conn, event_id)
        if event is None:
            return Processed(Outcome.MISSING)
        if event.processed_at is not None:
            return Processed(Outcome.ALREADY_PROCESSED, event.customer_id)
        tags, generation = await _locked_customer(conn, event.customer_id)
        live = await live_rules(conn, generation)
        facts = facts_of(event.type, event.payload)
        reached = await record_activity(conn, live.streak, event, tz)
        moved, completions = await evaluate(conn, live.challenges.get(event.type, []), event, facts, tags, tz)
        day = local_day(event.occurred_at, tz)
        badges = await evaluate_badges(
            conn,
            live.badges.get(event.type, []),
            event,
            facts,
            day,
            lambda audience: in_audience(audience, tags),
        )
        milestone = await reward_milestone(conn, event, reached) if reached else None
        await execute(
            conn,
            "UPDATE event SET processed_at = $1, rules_generation = $2 WHERE id = $3",
            datetime.now(UTC),
            generation.number,
            event.id,
        )
    return Processed(Outcome.PROCESSED, event.customer_id, moved, completions, badges, milestone)


async def _locked_event(conn: BaseDBAsyncClient, event_id: int) -> Event | None:
    # Raw SQL, here and for marking it processed: the ORM's query building cost more CPU than the query. The
    # id is a parameter, not part of the text: one prepared statement serves every event.
    if conn.capabilities.dialect == "postgres":
        # The rules lock is taken in this first statement, so that the next one, which reads the rules
        # generation, starts after it is granted and sees the last change that committed.
        sql = f"SELECT event.* FROM event, {SHARED_LOCK_SQL} WHERE event.id = $1 FOR UPDATE OF event"
    else:
        sql = "SELECT * FROM event WHERE id = $1"
    row = await fetch_one(sql, event_id, conn=conn)
    return Event._init_from_db(**row) if row else None


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
    changes, earned = processed.points_changes, processed.earned
    if processed.customer_id is None or not (processed.moved or changes or earned):
        return
    # One round trip for all of an event's messages, however many challenges it moved.
    async with redis.pipeline(transaction=False) as pipe:
        for moved in processed.moved:
            await publish_progress(pipe, processed.customer_id, moved)
        for change in changes:
            await publish_points_change(pipe, processed.customer_id, change)
        for level in earned:
            await publish_earned(pipe, processed.customer_id, level)
        await pipe.execute()


async def unprocessed_event_ids(older_than: timedelta, limit: int, after: int = 0) -> list[int]:
    """Unprocessed events recorded longer ago than `older_than`, in id order from `after` on."""
    cutoff = datetime.now(UTC) - older_than
    rows = Event.filter(processed_at=None, recorded_at__lt=cutoff, id__gt=after).order_by("id").limit(limit)
    return list(await rows.values_list("id", flat=True))  # type: ignore[arg-type]
