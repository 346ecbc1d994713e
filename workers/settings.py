"""The arq worker, configured from the settings the process hands in (app/ builds them; workers/ never reads
the environment). The jobs find them in their ctx as ctx["settings"]."""

from __future__ import annotations

from typing import Any, Protocol

from arq import cron
from arq.connections import ArqRedis
from arq.worker import Worker, func

from game.events.queue import BACKFILL_CHALLENGE, PROCESS_EVENT
from game.notifications.service import DELIVER_NOTIFICATION
from workers.tasks import (
    backfill_challenge,
    close_leaderboard_seasons,
    deliver_notification,
    process_event,
    requeue_unprocessed,
)


class WorkerSettings(Protocol):
    # Read-only properties: a frozen settings object (app.settings.Settings) satisfies them as they are.
    @property
    def worker_job_timeout_s(self) -> int: ...
    @property
    def worker_max_jobs(self) -> int: ...
    @property
    def programme_timezone(self) -> str: ...
    @property
    def requeue_after_s(self) -> int: ...
    @property
    def backfill_batch(self) -> int: ...
    @property
    def process_event_delay_s(self) -> float: ...


def build_worker(settings: WorkerSettings, redis: ArqRedis, *, handle_signals: bool = True) -> Worker:
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
            cron(close_leaderboard_seasons, second=30, run_at_startup=True, unique=True, timeout=timeout_s),
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
