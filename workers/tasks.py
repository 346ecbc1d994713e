"""arq jobs. Each loads what it needs, calls game/, and returns; each is safe to run twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from arq import Retry
from asyncpg.exceptions import TransactionRollbackError
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from game.challenges import backfill
from game.events import processing
from game.ledger.live import PointsChange, publish_points_change
from game.notifications import service as notifications
from game.points import service as points
from game.requeue import requeue_lost

T = TypeVar("T")


async def process_event(ctx: dict[str, Any], event_id: int) -> str:
    settings = ctx["settings"]
    if settings.process_event_delay_s:
        await asyncio.sleep(settings.process_event_delay_s)
    tz = ZoneInfo(settings.programme_timezone)
    processed = await _transaction(ctx, processing.process_event(event_id, tz))
    await processing.announce(ctx["redis"], processed)
    await notifications.enqueue_delivery(ctx["redis"], processed.notifications)
    return processed.outcome.value


async def deliver_notification(ctx: dict[str, Any], key: str) -> bool:
    return await notifications.deliver(key)


async def backfill_challenge(ctx: dict[str, Any], challenge_id: int) -> int:
    """Counts batches until done; past half its timeout, hands over to a new job that goes on from there."""
    settings = ctx["settings"]
    tz = ZoneInfo(settings.programme_timezone)
    hand_over_at = time.monotonic() + settings.worker_job_timeout_s / 2
    counted = 0
    while True:
        # Each batch commits with the cursor: a run killed between batches goes on from the last one.
        batch = await _transaction(ctx, backfill.backfill_batch(challenge_id, tz, settings.backfill_batch))
        counted += batch.counted
        await notifications.enqueue_delivery(ctx["redis"], batch.notifications)
        if batch.done:
            return counted
        if time.monotonic() >= hand_over_at:
            await backfill.enqueue_backfill(ctx["redis"], challenge_id, batch.last_event_id)
            return counted


async def release_pending_points(ctx: dict[str, Any]) -> int:
    """Cron: purchase points whose return window ended become available; safe to run twice or late."""
    released = await points.release_due()
    for customer_id, granted in released:
        if granted.balance is not None:
            change = PointsChange(granted.balance, granted.points, granted.reason)
            await publish_points_change(ctx["redis"], customer_id, change)
    return len(released)


async def expire_points(ctx: dict[str, Any]) -> int:
    """Cron: expires unspent points older than the programme's months, oldest first, and queues the notices
    of what expires soon; a second run the same day finds nothing left to expire."""
    settings = ctx["settings"]
    expired = await points.expire_due(settings.points_expiry_months, settings.expiry_notice_days)
    for customer_id, granted in expired:
        if granted.balance is not None:
            change = PointsChange(granted.balance, granted.points, granted.reason)
            await publish_points_change(ctx["redis"], customer_id, change)
    return len(expired)


async def requeue_unprocessed(ctx: dict[str, Any]) -> int:
    """Cron: hands the workers any event, notification or backfill whose job was lost (between commit and
    enqueue, with a wiped Redis, or given up after max_tries)."""
    older_than = timedelta(seconds=ctx["settings"].requeue_after_s)
    return (await requeue_lost(ctx["redis"], older_than)).total


async def _transaction(ctx: dict[str, Any], work: Awaitable[T]) -> T:
    """Runs one of game/'s transactions for a job.

    SIGTERM cancels running jobs: the shield lets the transaction finish (commit or roll back) rather than
    leaving the connection mid-transaction; arq re-runs the job if it never reported completion. A lost
    connection, a locked SQLite file, a PostgreSQL deadlock or serialization failure pass: the job is
    retried, and arq gives up only after max_tries.
    """
    try:
        return await asyncio.shield(work)
    except IntegrityError:
        raise
    except (DBConnectionError, OperationalError, TransactionRollbackError) as exc:
        raise Retry(defer=min(ctx["job_try"], 10)) from exc
