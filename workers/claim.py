"""The arq worker, claiming the jobs of a poll in one Redis round trip instead of four per job.

arq claims each job on its own: WATCH the in-progress key, EXISTS it, ZSCORE the job, then MULTI/PSETEX/EXEC,
four round trips before the job's own two (read, finish). Here one Lua script does the same check and set for
a batch of the job ids a poll found, atomically: a job another worker claimed first, one that finished, or
one deferred again since the poll is skipped, as arq skips it. The jobs then start as arq starts them, and
everything else (running, retries, results, crons, health checks) is arq's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker

# KEYS: the queue, then the in-progress key of each job id in ARGV[3:]; ARGV: now and the in-progress
# timeout, in ms, then the job ids. Returns the claimed ids and their scores, flattened.
_CLAIM = """
local claimed = {}
for i = 3, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[1]) and redis.call('EXISTS', KEYS[i - 1]) == 0 then
    redis.call('SET', KEYS[i - 1], '1', 'PX', ARGV[2])
    claimed[#claimed + 1] = ARGV[i]
    claimed[#claimed + 1] = score
  end
end
return claimed
"""


class BatchClaimWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._claim: Any = None

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """Starts the jobs of `job_ids` that are still due and unclaimed, a batch per round trip. When every
        slot is taken it waits for a quarter of them to free up (arq would go back to polling), but for one
        second at most: the poll loop also runs the crons and the health check."""
        pending = [job_id.decode() for job_id in job_ids]
        if self._claim is None:
            self._claim = self.pool.register_script(_CLAIM)
        until = self.loop.time() + 1.0
        while pending and self.allow_pick_jobs:
            wanted = min(len(pending), max(1, self.max_jobs // 4))
            while self.max_jobs - self.job_counter < wanted:
                left = until - self.loop.time()
                if left <= 0:
                    return
                running = [task for task in self.tasks.values() if not task.done()]
                if running:
                    await asyncio.wait(running, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await asyncio.sleep(0)  # finished, their done callbacks not run yet
            batch = pending[: self.max_jobs - self.job_counter]
            pending = pending[len(batch) :]
            keys = [self.queue_name, *(in_progress_key_prefix + job_id for job_id in batch)]
            args = [timestamp_ms(), int(self.in_progress_timeout_s * 1000), *batch]
            claimed = await self._claim(keys=keys, args=args, client=self.pool)
            for i in range(0, len(claimed), 2):
                job_id, score = claimed[i].decode(), int(float(claimed[i + 1]))
                await self.sem.acquire()  # never waits: job_counter < max_jobs
                self.job_counter += 1
                task = self.loop.create_task(self.run_job(job_id, score))
                task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
                self.tasks[job_id] = task
