"""The arq worker, configured from Settings."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import ArqRedis
from arq.worker import Worker, func

from app.settings import Settings
from game.events.queue import BACKFILL_CHALLENGE, PROCESS_EVENT
from game.notifications.service import DELIVER_NOTIFICATION
from workers.tasks import (
    backfill_challenge,
    deliver_notification,
    expire_points,
    process_event,
    release_pending_points,
    requeue_unprocessed,
)


def build_worker(settings: Settings, redis: ArqRedis, *, handle_signals: bool = True) -> Worker:
    """The caller opens the database (`async with database(settings)`) around the worker's run: arq's
    startup and shutdown hooks run in different tasks, and a TortoiseContext must close where it opened."""

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings

    timeout_s = settings.worker_job_timeout_s
    return Worker(
        functions=[
            func(process_event, name=PROCESS_EVENT, timeout=timeout_s, max_tries=10),
            func(backfill_challenge, name=BACKFILL_CHALLENGE, timeout=timeout_s, max_tries=5),
            func(deliver_notification, name=DELIVER_NOTIFICATION, timeout=timeout_s, max_tries=5),
        ],
        # arq sizes every in-progress lock from the longest timeout of all functions, crons included: a
        # longer cron timeout would hold a crashed worker's jobs back for that long.
        cron_jobs=[
            cron(requeue_unprocessed, second=0, run_at_startup=True, unique=True, timeout=timeout_s),
            # Both are safe to run twice or late: hourly, and at startup, catches up after any downtime.
            cron(release_pending_points, minute={7, 37}, run_at_startup=True, unique=True, timeout=timeout_s),
            cron(expire_points, minute=17, run_at_startup=True, unique=True, timeout=timeout_s),
        ],
        redis_pool=redis,
        on_startup=startup,
        handle_signals=handle_signals,
        max_jobs=settings.worker_max_jobs,
        job_timeout=timeout_s,
        # Results block re-enqueueing a job id while kept; the events table (processed_at) is what makes a
        # second run harmless, so a short retention lets the sweeper requeue a job that failed for good.
        keep_result=60,
        poll_delay=0.1,
    )
