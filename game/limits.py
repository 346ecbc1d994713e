"""Abuse limits: sliding windows counted in Redis (derived, disposable state: losing it only forgets recent
attempts). One sorted set per limited key holds the attempts' times; an attempt is refused when the window
already holds `limit` of them, and the refusal says how long until the oldest one leaves the window.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis

from game.after_commit import REDIS_DOWN
from game.errors import DomainError, ErrorCode


@dataclass(frozen=True, slots=True)
class Limit:
    limit: int
    window_s: int


async def hit(redis: Redis, key: str, limit: Limit, what: str, reason: StrEnum) -> None:
    """Counts one attempt against `key`, or raises RATE_LIMITED (with `retry_after_s`) when it is full.

    A refused attempt is not counted, so a client that waits `retry_after_s` gets through. With Redis down the
    limit cannot be checked, and the operation answers SERVICE_UNAVAILABLE rather than run unlimited.
    """
    now = time.time()
    member = f"{now:.6f}:{secrets.token_hex(4)}"
    full_key = f"tessera:limit:{key}"
    try:
        # One MULTI: concurrent attempts each count the others, so none slips past a full window. An attempt
        # that finds the window full takes its own mark out again.
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(full_key, 0, now - limit.window_s)
            pipe.zadd(full_key, {member: now})
            pipe.zcard(full_key)
            pipe.zrange(full_key, 0, 0, withscores=True)
            pipe.expire(full_key, limit.window_s + 1)
            _, _, count, oldest, _ = await pipe.execute()
        if count > limit.limit:
            await redis.zrem(full_key, member)
            first = oldest[0][1] if oldest else now
            retry_after = max(1, int(first + limit.window_s - now) + 1)
            raise DomainError(
                ErrorCode.RATE_LIMITED,
                f"at most {limit.limit} {what} per {limit.window_s} s; try again in {retry_after} s",
                reason=reason,
                retry_after_s=retry_after,
            )
    except REDIS_DOWN as exc:
        raise DomainError(
            ErrorCode.SERVICE_UNAVAILABLE, "the service is briefly unavailable; try again shortly"
        ) from exc
