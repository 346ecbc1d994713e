"""The arq worker, configured from the settings the process hands in (app/ builds them; workers/ never reads
the environment). The jobs find them in their ctx as ctx["settings"]."""

from __future__ import annotations

import gc
from typing import Any, Protocol

import aiohttp
from arq import cron
from arq.connections import ArqRedis
from arq.worker import Worker, func

from game.events.queue import BACKFILL_CHALLENGE, PROCESS_EVENT
from game.notifications.campaigns import SEND_CAMPAIGN
from game.notifications.push import Sender
from game.notifications.service import DELIVER_NOTIFICATION, PUSH_JOB_PREFIX, PUSH_NOTIFICATION
from workers.claim import BatchClaimWorker, BatchFunction
from workers.tasks import (
    backfill_challenge,
    close_leaderboard_seasons,
    deliver_notification,
    expire_points,
    process_event,
    push_notification,
    push_notifications,
    release_pending_points,
    requeue_unprocessed,
    send_campaign,
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
    @property
    def vapid_private_key(self) -> str: ...
    @property
    def vapid_subject(self) -> str: ...
    @property
    def push_max_tries(self) -> int: ...
    @property
    def push_timeout_s(self) -> float: ...
    @property
    def campaign_batch(self) -> int: ...


def build_worker(settings: WorkerSettings, redis: ArqRedis, *, handle_signals: bool = True) -> Worker:
    """The caller opens the database (`async with database(settings)`) around the worker's run: arq's
    startup and shutdown hooks run in different tasks, and a TortoiseContext must close where it opened."""

    async def startup(ctx: dict[str, Any]) -> None:
        # What start-up loaded lives as long as the process: out of the collector's way (see app/factory.py).
        gc.collect()
        gc.freeze()
        ctx["settings"] = settings
        # One HTTP session per worker for every push: its connection pool keeps the push services' TLS
        # connections open between jobs.
        session = aiohttp.ClientSession()
        ctx["push_session"] = session
        ctx["push_sender"] = Sender(
            session, settings.vapid_private_key, settings.vapid_subject, settings.push_timeout_s
        )

    async def shutdown(ctx: dict[str, Any]) -> None:
        session = ctx.get("push_session")
        if session is not None:
            await session.close()

    timeout_s = settings.worker_job_timeout_s
    # The push jobs a poll claims run together (one read, one write, one Redis round trip for them all), each
    # with its own id, tries and back-off; push_notification runs one that arq's run_job takes instead.
    pushes = BatchFunction(
        PUSH_NOTIFICATION,
        PUSH_JOB_PREFIX,
        push_notifications,
        timeout_s,
        settings.push_max_tries + 1,
        arity=2,
    )
    return BatchClaimWorker(
        functions=[
            func(process_event, name=PROCESS_EVENT, timeout=timeout_s, max_tries=10),
            func(backfill_challenge, name=BACKFILL_CHALLENGE, timeout=timeout_s, max_tries=5),
            func(deliver_notification, name=DELIVER_NOTIFICATION, timeout=timeout_s, max_tries=5),
            # push() records the failure itself on try push_max_tries; the spare try covers one killed midway.
            # No result kept: the delivered marker and the attempts are the record, and a push job run again
            # finds the marker; storing a result would only cost every push a serialization.
            func(
                push_notification,
                name=PUSH_NOTIFICATION,
                timeout=timeout_s,
                max_tries=settings.push_max_tries + 1,
                keep_result=0,
            ),
            func(send_campaign, name=SEND_CAMPAIGN, timeout=timeout_s, max_tries=10),
        ],
        # arq sizes every in-progress lock from the longest timeout of all functions, crons included: a
        # longer cron timeout would hold a crashed worker's jobs back for that long.
        cron_jobs=[
            cron(requeue_unprocessed, second=0, run_at_startup=True, unique=True, timeout=timeout_s),
            cron(close_leaderboard_seasons, second=30, run_at_startup=True, unique=True, timeout=timeout_s),
            # Both are safe to run twice or late: hourly, and at startup, catches up after any downtime.
            cron(release_pending_points, minute={7, 37}, run_at_startup=True, unique=True, timeout=timeout_s),
            cron(expire_points, minute=17, run_at_startup=True, unique=True, timeout=timeout_s),
        ],
        redis_pool=redis,
        on_startup=startup,
        on_shutdown=shutdown,
        handle_signals=handle_signals,
        max_jobs=settings.worker_max_jobs,
        job_timeout=timeout_s,
        # Results block re-enqueueing a job id while kept; the events table (processed_at) is what makes a
        # second run harmless, so a short retention lets the sweeper requeue a job that failed for good.
        keep_result=60,
        poll_delay=0.1,
        batch=pushes,
    )
