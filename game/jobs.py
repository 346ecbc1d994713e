"""Enqueueing several arq jobs in one Redis round trip, with what else goes to Redis after the same commit.

`ArqRedis.enqueue_job` takes three round trips per job (WATCH, EXISTS, then MULTI/PSETEX/ZADD/EXEC). A Lua
script does the same for a whole list, atomically: a job whose id is queued, running (its job key exists)
or has a kept result is not doubled, exactly as enqueue_job refuses it; the job is stored as enqueue_job
stores it (arq's own serialization, expiry and score), so the worker cannot tell the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms
from redis.asyncio.client import Pipeline

# KEYS: per job, its job key, result key and queue; ARGV: per job, expiry (ms), serialized job, id, score.
ENQUEUE_SCRIPT = """
local enqueued = 0
for i = 1, #KEYS, 3 do
  local a = (i - 1) / 3 * 4
  if redis.call('EXISTS', KEYS[i], KEYS[i + 1]) == 0 then
    redis.call('PSETEX', KEYS[i], ARGV[a + 1], ARGV[a + 2])
    redis.call('ZADD', KEYS[i + 2], ARGV[a + 4], ARGV[a + 3])
    enqueued = enqueued + 1
  end
end
return enqueued
"""


@dataclass(frozen=True, slots=True)
class Job:
    function: str
    args: tuple[Any, ...]
    job_id: str
    defer_until: datetime | None = None


def add_enqueue(pipe: Pipeline, arq: ArqRedis, jobs: Sequence[Job]) -> None:
    """Adds to `pipe` the enqueueing of `jobs`; its reply (in pipe.execute()'s list) is how many were new."""
    keys: list[str] = []
    args: list[Any] = []
    now = timestamp_ms()
    for job in jobs:
        score = to_unix_ms(job.defer_until) if job.defer_until is not None else now
        data = serialize_job(job.function, job.args, {}, None, now, serializer=arq.job_serializer)
        keys += [job_key_prefix + job.job_id, result_key_prefix + job.job_id, arq.default_queue_name]
        args += [score - now + arq.expires_extra_ms, data, job.job_id, score]
    # EVAL, not EVALSHA: a pipeline cannot fall back on NOSCRIPT, and Redis caches the compiled script.
    pipe.eval(ENQUEUE_SCRIPT, len(keys), *keys, *args)
