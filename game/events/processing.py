"""What happens to an event after it is recorded: the gamification engine runs here, in the worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from tortoise.transactions import in_transaction

from game.challenges.evaluation import Completion, Moved, evaluate
from game.challenges.live import publish_progress
from game.events.models import Event
from game.ledger.live import PointsChange, publish_points_change
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
    milestone: MilestoneReward | None = None


async def process_event(event_id: int, tz: ZoneInfo, redis: Redis) -> Processed:
    """Idempotent: the event row is locked and marked in the same transaction as the effects, so a run
    killed before commit leaves nothing behind and the next run does the whole work once."""
    async with in_transaction() as conn:
        event = await Event.select_for_update().using_db(conn).get_or_none(id=event_id)
        if event is None:
            return Processed(Outcome.MISSING)
        if event.processed_at is not None:
            return Processed(Outcome.ALREADY_PROCESSED, event.customer_id)
        # Locks in one order for every event of a customer: the streak row, then evaluate's progress rows,
        # challenge rows and the balance, and the milestone reward last since it locks the balance again.
        # The streak row is never taken after another of these locks (an event that is no activity skips
        # it), so no two transactions can each hold what the other waits for. Rewarding the milestone
        # beside the streak row, before evaluate, would hold the balance while waiting for a progress row
        # that an event without a streak lock holds while it waits for the balance.
        reached = await record_activity(conn, event, tz)
        moved, completions = await evaluate(conn, redis, event, tz)
        milestone = await reward_milestone(conn, event, reached) if reached else None
        event.processed_at = datetime.now(UTC)
        await event.save(using_db=conn, update_fields=["processed_at"])
    return Processed(Outcome.PROCESSED, event.customer_id, moved, completions, milestone)


async def announce(redis: Redis, processed: Processed) -> None:
    """After commit: live updates for what the event changed (a lost message loses nothing)."""
    if processed.customer_id is None or not (processed.moved or processed.completions or processed.milestone):
        return
    # One round trip for all of an event's messages, however many challenges it moved.
    async with redis.pipeline(transaction=False) as pipe:
        for moved in processed.moved:
            await publish_progress(pipe, processed.customer_id, moved)
        for completion in processed.completions:
            if completion.balance is not None:
                change = PointsChange(completion.balance, completion.points, "challenge")
                await publish_points_change(pipe, processed.customer_id, change)
        if processed.milestone is not None:
            milestone = processed.milestone
            change = PointsChange(milestone.balance, milestone.points, "streak")
            await publish_points_change(pipe, processed.customer_id, change)
        await pipe.execute()


async def unprocessed_event_ids(older_than: timedelta, limit: int = 1000) -> list[int]:
    """Events whose job was lost (the process died between commit and enqueue, or Redis was wiped)."""
    cutoff = datetime.now(UTC) - older_than
    rows = await Event.filter(processed_at=None, recorded_at__lt=cutoff).order_by("id").limit(limit)
    return [event.id for event in rows]
