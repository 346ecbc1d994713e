"""What happens to an event after it is recorded. The gamification engine plugs in here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tortoise.transactions import in_transaction

from game.events.models import Event


class Outcome(StrEnum):
    PROCESSED = "processed"
    ALREADY_PROCESSED = "already_processed"
    MISSING = "missing"


async def process_event(event_id: int) -> Outcome:
    """Idempotent: the event row is locked and marked in the same transaction as the effects, so a run
    killed before commit leaves nothing behind and the next run does the whole work once."""
    async with in_transaction() as conn:
        event = await Event.select_for_update().using_db(conn).get_or_none(id=event_id)
        if event is None:
            return Outcome.MISSING
        if event.processed_at is not None:
            return Outcome.ALREADY_PROCESSED
        event.processed_at = datetime.now(UTC)
        await event.save(using_db=conn, update_fields=["processed_at"])
    return Outcome.PROCESSED


async def unprocessed_event_ids(older_than: timedelta, limit: int = 1000) -> list[int]:
    """Events whose job was lost (the process died between commit and enqueue, or Redis was wiped)."""
    cutoff = datetime.now(UTC) - older_than
    rows = await Event.filter(processed_at=None, recorded_at__lt=cutoff).order_by("id").limit(limit)
    return [event.id for event in rows]
