"""What follows a commit in Redis (enqueueing the worker's job, live messages) is derived state: when Redis is
down it is logged and skipped, never reported as a failure of what committed. The database keeps the truth and
the sweeper (game/requeue.py) enqueues every unprocessed event and unsent notification once Redis is back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import RedisError

T = TypeVar("T")

log = logging.getLogger("tessera.after_commit")

# What a Redis that is down or unreachable raises: the client's own errors, and the socket's.
REDIS_DOWN = (RedisError, OSError, TimeoutError)


async def best_effort(what: str, work: Awaitable[T]) -> T | None:
    """Runs `work`; a Redis failure is logged (the sweeper will redo it) and returns None."""
    try:
        return await work
    except REDIS_DOWN as exc:
        log.warning("%s skipped, Redis unavailable (%s); the sweeper will catch up", what, exc)
        return None
