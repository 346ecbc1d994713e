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
from game.events.queue import enqueue_processing
from game.leaderboards import rebuild as boards
from game.leaderboards import seasons
from game.leaderboards import service as leaderboards
from game.leaderboards import store as board_store
from game.ledger.live import PointsChange, publish_points_change
from game.live import publish_all
from game.notifications import campaigns
from game.notifications import service as notifications
from game.points import service as points
from game.requeue import requeue_lost
from game.sql import UNAVAILABLE
from workers.claim import Claimed, Outcomes

T = TypeVar("T")
_DB_DOWN: tuple[type[Exception], ...] = (DBConnectionError, OperationalError, *UNAVAILABLE)


async def process_event(ctx: dict[str, Any], event_id: int) -> str:
    settings = ctx["settings"]
    if settings.process_event_delay_s:
        await asyncio.sleep(settings.process_event_delay_s)
    tz = ZoneInfo(settings.programme_timezone)
    processed = await _transaction(ctx, processing.process_event(event_id, tz))
    await processing.announce(ctx["redis"], processed)
    await notifications.enqueue_delivery(ctx["redis"], processed.notifications)
    await board_store.mirror(ctx["redis"], processed.standings)
    if processed.outcome is processing.Outcome.ALREADY_PROCESSED and processed.customer_id is not None:
        # The first run may have died between its commit and the mirror: mirroring again is harmless.
        await leaderboards.resync_customer(ctx["redis"], processed.customer_id, tz)
    for recorded in processed.events:
        await enqueue_processing(ctx["redis"], recorded)
    return processed.outcome.value


async def deliver_notification(ctx: dict[str, Any], key: str) -> str:
    """The inbox row exists already; this plans its pushes and tells the customer's open apps."""
    planned = await notifications.deliver(ctx["redis"], key)
    return planned.status.value if planned.status else "already planned"


async def push_notification(ctx: dict[str, Any], notification_id: int, subscription_id: int) -> str:
    """One notification to one device, once; 429, 5xx and network errors retry after a back-off (the push
    service's Retry-After when it gives one), up to push_max_tries."""
    settings = ctx["settings"]
    result = await notifications.push(
        ctx["push_sender"], notification_id, subscription_id, ctx["job_try"], settings.push_max_tries
    )
    if result.outcome is notifications.Pushed.RETRY:
        raise Retry(defer=result.retry_after_s)
    return result.outcome.value


async def push_notifications(ctx: dict[str, Any], jobs: list[Claimed]) -> Outcomes:
    """The push_notification jobs a poll claimed, run together (workers/claim.py): each as push_notification
    runs it, with one read and one write for them all. With the database unavailable, they are tried again
    after a back-off (the sends, if any went out, were not recorded: a push may then go twice)."""
    settings = ctx["settings"]
    pushes = [notifications.PushJob(int(job.args[0]), int(job.args[1]), job.job_try) for job in jobs]
    try:
        results = await notifications.push_many(ctx["push_sender"], pushes, settings.push_max_tries)
    except _DB_DOWN:
        return [float(min(job.job_try, 10)) for job in jobs]
    retry = notifications.Pushed.RETRY
    return [(r.retry_after_s or 0.0) if r.outcome is retry else None for r in results]


async def send_campaign(ctx: dict[str, Any], campaign_id: int) -> int:
    """Fans a campaign out a batch per transaction; past half its timeout, hands over to a new job."""
    settings = ctx["settings"]
    hand_over_at = time.monotonic() + settings.worker_job_timeout_s / 2
    written = 0
    while True:
        batch = await asyncio.shield(campaigns.fan_out_batch(campaign_id, settings.campaign_batch))
        written += len(batch.notifications)
        await notifications.enqueue_delivery(ctx["redis"], batch.notifications)
        if batch.done:
            return written
        if time.monotonic() >= hand_over_at:
            await campaigns.enqueue_campaign(ctx["redis"], await campaigns.get_campaign(campaign_id))
            return written


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
        await board_store.mirror(ctx["redis"], batch.standings)
        if batch.done:
            return counted
        if time.monotonic() >= hand_over_at:
            await backfill.enqueue_backfill(ctx["redis"], challenge_id, batch.last_event_id)
            return counted


async def release_pending_points(ctx: dict[str, Any]) -> int:
    """Cron: purchase points whose return window ended become available; safe to run twice or late."""
    released = await points.release_due(ZoneInfo(ctx["settings"].programme_timezone))
    for customer_id, granted in released.granted:
        if granted.balance is not None:
            change = PointsChange(granted.balance, granted.points, granted.reason)
            await publish_points_change(ctx["redis"], customer_id, change)
    await board_store.mirror(ctx["redis"], released.standings)
    return len(released.granted)


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
    requeued = (await requeue_lost(ctx["redis"], older_than)).total
    # Boards are derived state too: those missing (a wiped Redis, a new season) are rebuilt.
    await boards.restore_missing(ctx["redis"], ZoneInfo(ctx["settings"].programme_timezone))
    return requeued


async def close_leaderboard_seasons(ctx: dict[str, Any]) -> int:
    """Cron: closes every season that has ended (snapshot, prizes, notifications); safe twice or late."""
    closed = await seasons.close_due_seasons()
    await publish_all(ctx["redis"], closed.updates)
    await notifications.enqueue_delivery(ctx["redis"], closed.notifications)
    for board, season in closed.seasons:
        await board_store.drop(ctx["redis"], board, season)
    return len(closed.seasons)


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
