"""The worker claims the jobs a poll found in one Lua call (workers/claim.py): it must start exactly the jobs
arq's own claim would start, and mark them in progress as arq does."""

from __future__ import annotations

from datetime import timedelta

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix

from app.settings import Settings
from game.notifications.service import DELIVER_NOTIFICATION
from workers.settings import build_worker


async def test_only_due_jobs_nobody_runs_are_started(settings: Settings, redis: ArqRedis) -> None:
    pool = ArqRedis.from_url(settings.redis_url)
    try:
        for job_id in ("free", "running", "later"):
            defer = timedelta(hours=1) if job_id == "later" else None
            await pool.enqueue_job(DELIVER_NOTIFICATION, f"no-such-{job_id}", _job_id=job_id, _defer_by=defer)
        # Another worker runs this one.
        await redis.set(in_progress_key_prefix + "running", b"elsewhere", px=60_000)
        worker = build_worker(settings, pool, handle_signals=False)
        worker.ctx.update(redis=pool, settings=settings)

        await worker.start_jobs([b"free", b"running", b"later", b"finished-meanwhile"])
        started = dict(worker.tasks)
        assert sorted(started) == ["free"]
        assert await redis.exists(in_progress_key_prefix + "free") == 1
        for task in started.values():
            await task

        assert await redis.get(in_progress_key_prefix + "running") == b"elsewhere"
        # The free job ran (no such notification: nothing to plan) and finished; the others still wait.
        assert await redis.exists(job_key_prefix + "free", in_progress_key_prefix + "free") == 0
        assert await redis.exists(job_key_prefix + "running", job_key_prefix + "later") == 2
        assert worker.jobs_complete == 1
    finally:
        await pool.aclose()


async def test_more_jobs_than_slots_start_as_slots_free_up(settings: Settings, redis: ArqRedis) -> None:
    pool = ArqRedis.from_url(settings.redis_url)
    try:
        ids = [f"job-{n}" for n in range(7)]
        for job_id in ids:
            await pool.enqueue_job(DELIVER_NOTIFICATION, f"no-such-{job_id}", _job_id=job_id)
        worker = build_worker(settings, pool, handle_signals=False)
        worker.max_jobs = 3
        worker.ctx.update(redis=pool, settings=settings)

        await worker.start_jobs([job_id.encode() for job_id in ids])
        for task in list(worker.tasks.values()):
            await task

        assert sorted(worker.tasks) == sorted(ids)
        assert worker.jobs_complete == 7
        assert worker.job_counter == 0
        assert await redis.exists(*(job_key_prefix + job_id for job_id in ids)) == 0
    finally:
        await pool.aclose()
