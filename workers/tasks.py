"""arq jobs. Each loads what it needs, calls game/, and returns; each is safe to run twice."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from arq import Retry
from asyncpg.exceptions import TransactionRollbackError
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from game.challenges import backfill
from game.events import processing
from game.events.queue import enqueue_processing
from game.notifications import service as notifications


async def process_event(ctx: dict[str, Any], event_id: int) -> str:
    settings = ctx["settings"]
    if settings.process_event_delay_s:
        await asyncio.sleep(settings.process_event_delay_s)
    try:
        # SIGTERM cancels running jobs: the shield lets the transaction finish (commit or roll back) rather
        # than leaving the connection mid-transaction; arq re-runs the job if it never reported completion.
        processed = await asyncio.shield(
            processing.process_event(event_id, ZoneInfo(settings.programme_timezone), ctx["redis"])
        )
    except IntegrityError:
        raise
    except (DBConnectionError, OperationalError, TransactionRollbackError) as exc:
        # A lost connection, a locked SQLite file, a PostgreSQL deadlock or serialization failure pass;
        # arq gives up on a job only after max_tries.
        raise Retry(defer=min(ctx["job_try"], 10)) from exc
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
        batch = await asyncio.shield(backfill.backfill_batch(challenge_id, tz, settings.backfill_batch))
        counted += batch.counted
        await notifications.enqueue_delivery(ctx["redis"], batch.notifications)
        if batch.done:
            return counted
        if time.monotonic() >= hand_over_at:
            await backfill.enqueue_backfill(ctx["redis"], challenge_id, batch.last_event_id)
            return counted


async def requeue_unprocessed(ctx: dict[str, Any]) -> int:
    """Cron: hands the workers any event or notification whose job was lost between commit and enqueue."""
    older_than = timedelta(seconds=ctx["settings"].requeue_after_s)
    ids = await processing.unprocessed_event_ids(older_than=older_than)
    for event_id in ids:
        await enqueue_processing(ctx["redis"], event_id)
    keys = await notifications.unsent_keys(older_than=older_than)
    await notifications.enqueue_delivery(ctx["redis"], keys)
    return len(ids) + len(keys)
