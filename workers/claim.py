"""The arq worker, claiming the jobs of a poll in one Redis round trip instead of four per job, and running
the claimed jobs of a batch function (push_notification) together.

arq claims each job on its own: WATCH the in-progress key, EXISTS it, ZSCORE the job, then MULTI/PSETEX/EXEC,
four round trips before the job's own two (read, finish). Here one Lua script does the same check and set for
a batch of the job ids a poll found, atomically: a job another worker claimed first, one that finished, or
one deferred again since the poll is skipped, as arq skips it. The jobs then start as arq starts them, and
everything else (running, retries, results, crons, health checks) is arq's own.

A batch function's jobs (their ids start with its prefix) are more: the same script also reads each one and
counts its try, as arq's run_job does first, and the jobs claimed together run as one call of the batch
function, which returns each job's outcome; one pipeline then finishes them all as arq's finish_job would,
one by one: a finished job's keys deleted, a retried one's score moved by its back-off, every in-progress key
released. Each job keeps its own id, try count, retries and at-least-once run: a batch killed midway leaves
its jobs claimed until their in-progress keys expire, then they run again, as arq's would. Anything unusual
(a job that expired, could not be read, or is past its tries) goes back to arq's own run_job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from arq.constants import (
    abort_jobs_ss,
    in_progress_key_prefix,
    job_key_prefix,
    retry_key_prefix,
)
from arq.jobs import SerializationError, deserialize_job_raw
from arq.utils import timestamp_ms
from arq.worker import Worker

log = logging.getLogger("arq.worker")

# KEYS: the queue, then per job id in ARGV[4:] its in-progress, job and retry keys; ARGV: now and the
# in-progress timeout in ms, the batch function's job id prefix, then the job ids. Returns, per claimed job,
# its id, score, and for a job of the batch function its serialized job and its try (arq's run_job pipeline:
# GET, INCR, EXPIRE), else false and 0; flattened.
_CLAIM = """
local claimed = {}
local prefix = ARGV[3]
for i = 4, #ARGV do
  local k = (i - 4) * 3 + 2
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[1]) and redis.call('EXISTS', KEYS[k]) == 0 then
    redis.call('SET', KEYS[k], '1', 'PX', ARGV[2])
    local data, try = false, 0
    if prefix ~= '' and string.sub(ARGV[i], 1, #prefix) == prefix then
      data = redis.call('GET', KEYS[k + 1])
      try = redis.call('INCR', KEYS[k + 2])
      redis.call('EXPIRE', KEYS[k + 2], 88400)
    end
    claimed[#claimed + 1] = ARGV[i]
    claimed[#claimed + 1] = score
    claimed[#claimed + 1] = data
    claimed[#claimed + 1] = try
  end
end
return claimed
"""


# Jobs are claimed a 1/CLAIM_SHARE of the slots at a time.
CLAIM_SHARE = 4


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job of a batch function, claimed and read: what arq would put in its ctx, and its arguments."""

    job_id: str
    score: int
    job_try: int
    args: tuple[Any, ...]


# Per job, in order: None when it is done, else the seconds to wait before its next try (0: at once).
Outcomes = list[float | None]


@dataclass(frozen=True)
class BatchFunction:
    """Jobs of function `name` whose ids start with `id_prefix` run together, as `run(ctx, jobs)`. They keep
    no result (their own rows are their record), like a function with keep_result=0."""

    name: str
    id_prefix: str
    run: Callable[[dict[str, Any], list[Claimed]], Awaitable[Outcomes]]
    timeout_s: float
    max_tries: int
    arity: int  # how many positional arguments a job of the function takes


class BatchClaimWorker(Worker):
    def __init__(self, *args: Any, batch: BatchFunction | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hooks = self.on_job_start or self.on_job_end or self.after_job_end
        if batch is not None and (hooks or self.allow_abort_jobs):
            raise ValueError("a batch function's jobs run without arq's per-job hooks and aborts")
        self._claim: Any = None
        self.batch = batch

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """Starts the jobs of `job_ids` that are still due and unclaimed, a batch per round trip. When every
        slot is taken it waits for a quarter of them to free up (arq would go back to polling), but for one
        second at most: the poll loop also runs the crons and the health check."""
        pending = [job_id.decode() for job_id in job_ids]

        until = self.loop.time() + 1.0
        # Jobs claimed at a time: a quarter of the slots, so that a batch function's jobs run as a few batches
        # at once, one's sends going out while another waits for the database.
        step = max(1, self.max_jobs // CLAIM_SHARE)
        while pending and self.allow_pick_jobs:
            wanted = min(len(pending), step)
            while self.max_jobs - self.job_counter < wanted:
                left = until - self.loop.time()
                if left <= 0:
                    return
                running = [task for task in set(self.tasks.values()) if not task.done()]
                if running:
                    await asyncio.wait(running, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await asyncio.sleep(0)  # finished, their done callbacks not run yet
            batch = pending[: min(self.max_jobs - self.job_counter, step)]
            pending = pending[len(batch) :]
            await self._claim_and_start(batch)

    async def _claim_and_start(self, job_ids: list[str]) -> None:
        """Claims what it can of `job_ids` in one round trip and starts them: the batch function's jobs in one
        task, any other in arq's run_job."""
        if self._claim is None:
            self._claim = self.pool.register_script(_CLAIM)
        keys = [self.queue_name]
        for job_id in job_ids:
            keys += [in_progress_key_prefix + job_id, job_key_prefix + job_id, retry_key_prefix + job_id]
        prefix = self.batch.id_prefix if self.batch else ""
        args = [timestamp_ms(), int(self.in_progress_timeout_s * 1000), prefix, *job_ids]
        claimed = await self._claim(keys=keys, args=args, client=self.pool)

        together: list[Claimed] = []
        for i in range(0, len(claimed), 4):
            job_id, score = claimed[i].decode(), int(float(claimed[i + 1]))
            data, job_try = claimed[i + 2], int(claimed[i + 3])
            job = self._batchable(job_id, score, data, job_try) if job_try else None
            if job is not None:
                together.append(job)
                continue
            if job_try:
                # Back to arq's run_job, which counts the try itself.
                await self.pool.decr(retry_key_prefix + job_id)
            await self._start([job_id], self.run_job(job_id, score))
        if together:
            await self._start([job.job_id for job in together], self._run_batch(together))

    async def _start(self, job_ids: list[str], run: Coroutine[Any, Any, None]) -> None:
        """Runs `run` in a task that holds a job slot per id of `job_ids` until it is done."""
        for _ in job_ids:
            await self.sem.acquire()  # never waits: job_counter < max_jobs
            self.job_counter += 1
        task = self.loop.create_task(run)

        def release(_: object) -> None:
            for _ in job_ids:
                self._release_sem_dec_counter_on_complete()

        task.add_done_callback(release)
        for job_id in job_ids:
            self.tasks[job_id] = task

    def _batchable(self, job_id: str, score: int, data: bytes | None, job_try: int) -> Claimed | None:
        """The claimed job, if it is a job of the batch function that the batch may run as it is."""
        assert self.batch is not None
        if data is None:
            return None  # expired: arq's run_job fails it
        try:
            function, args, kwargs, enqueue_job_try, _ = deserialize_job_raw(
                data, deserializer=self.job_deserializer
            )
        except SerializationError:
            return None
        if function != self.batch.name or kwargs or len(args) != self.batch.arity:
            return None
        if enqueue_job_try and enqueue_job_try > job_try:
            return None
        if job_try > self.batch.max_tries:
            return None  # arq's run_job records the failure
        return Claimed(job_id, score, job_try, tuple(args))

    async def _run_batch(self, jobs: list[Claimed]) -> None:
        """Runs the batch function over `jobs`, then finishes each job as arq's run_job would have."""
        assert self.batch is not None
        started_ms = timestamp_ms()
        if log.isEnabledFor(logging.INFO):
            for job in jobs:
                tried = f" try={job.job_try}" if job.job_try > 1 else ""
                log.info("→ %s:%s%s (a batch of %d)", job.job_id, self.batch.name, tried, len(jobs))
        outcomes: Sequence[float | None]
        try:
            outcomes = await asyncio.wait_for(self.batch.run(self.ctx, jobs), self.batch.timeout_s)
            if len(outcomes) != len(jobs):
                raise RuntimeError(f"{self.batch.name}: {len(outcomes)} outcomes for {len(jobs)} jobs")
        except asyncio.CancelledError:
            # Shutting down: as arq does with a cancelled job, released to run again, its try counted.
            log.info("%s: a batch of %d cancelled, will be run again", self.batch.name, len(jobs))
            self.jobs_retried += len(jobs)
            await asyncio.shield(self._finish(jobs, [0.0] * len(jobs)))
            return
        except Exception:
            # What arq does with a job that raises: failed for good (the sweeper hands lost pushes over).
            log.exception("%s: a batch of %d failed", self.batch.name, len(jobs))
            self.jobs_failed += len(jobs)
            await asyncio.shield(self._finish(jobs, [None] * len(jobs)))
            return
        self.jobs_complete += sum(outcome is None for outcome in outcomes)
        self.jobs_retried += sum(outcome is not None for outcome in outcomes)
        await asyncio.shield(self._finish(jobs, outcomes))
        if log.isEnabledFor(logging.INFO):
            took = (timestamp_ms() - started_ms) / 1000
            for job, outcome in zip(jobs, outcomes, strict=True):
                then = "done" if outcome is None else f"retrying in {outcome:0.2f}s"
                log.info("%6.2fs ← %s:%s %s", took, job.job_id, self.batch.name, then)

    async def _finish(self, jobs: list[Claimed], outcomes: Sequence[float | None]) -> None:
        """arq's finish_job for every job in one transaction: a done job's keys and queue entry deleted, a
        retried job's score moved past its back-off, every in-progress key deleted."""
        now = timestamp_ms()
        async with self.pool.pipeline(transaction=True) as tr:
            done = [job.job_id for job, outcome in zip(jobs, outcomes, strict=True) if outcome is None]
            for job, outcome in zip(jobs, outcomes, strict=True):
                if outcome:
                    # As arq moves a Retry(defer=...): by the defer plus the time since the job's score.
                    tr.zincrby(self.queue_name, int(outcome * 1000) + now - job.score, job.job_id)
            if done:
                tr.zrem(abort_jobs_ss, *done)
                tr.zrem(self.queue_name, *done)
            deleted = [in_progress_key_prefix + job.job_id for job in jobs]
            for job_id in done:
                deleted += [retry_key_prefix + job_id, job_key_prefix + job_id]
            tr.delete(*deleted)
            await tr.execute()
