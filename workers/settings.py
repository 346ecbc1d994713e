"""The arq worker, configured from Settings."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from arq import cron
from arq.connections import ArqRedis
from arq.worker import Worker, func

from app.db import database
from app.settings import Settings
from game.events.queue import PROCESS_EVENT
from workers.tasks import process_event, requeue_unprocessed


def build_worker(settings: Settings, redis: ArqRedis, *, handle_signals: bool = True) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        stack = AsyncExitStack()
        await stack.enter_async_context(database(settings))
        ctx["stack"] = stack
        ctx["settings"] = settings

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["stack"].aclose()

    return Worker(
        functions=[
            func(process_event, name=PROCESS_EVENT, timeout=settings.worker_job_timeout_s, max_tries=10)
        ],
        cron_jobs=[cron(requeue_unprocessed, second=0, run_at_startup=True, unique=True, timeout=60)],
        redis_pool=redis,
        on_startup=startup,
        on_shutdown=shutdown,
        handle_signals=handle_signals,
        max_jobs=settings.worker_max_jobs,
        job_timeout=settings.worker_job_timeout_s,
        keep_result=3600,
        poll_delay=0.1,
    )
