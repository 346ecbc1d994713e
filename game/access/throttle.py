"""Throttling sign-ins and sign-ups, in Redis (game/limits.py): per client IP on every attempt, per account on
failures, then a lockout that doubles with each repeat.

A password guesser gets `account_failures` tries per window on one account, then the account refuses even
the right password for `lockout_s`, twice as long at the next lockout within a day, up to an hour. The owner
is kept out only while someone keeps guessing; a successful login clears the failures.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import Redis

from game.access.errors import AccessReason
from game.after_commit import REDIS_DOWN
from game.errors import DomainError, ErrorCode
from game.limits import Limit, hit

T = TypeVar("T")

MAX_LOCKOUT_S = 3600
LOCKOUT_MEMORY_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class LoginLimits:
    ip: Limit  # attempts per client IP, whatever the account
    account_failures: Limit  # failed attempts per account before a lockout
    lockout_s: int  # the first lockout; each next one within a day doubles it
    register_ip: Limit  # sign-ups per client IP


async def guarded_login(
    redis: Redis, kind: str, email: str, ip: str, limits: LoginLimits, attempt: Callable[[], Awaitable[T]]
) -> T:
    """Runs `attempt` (a password check) unless the IP or the account is throttled; counts its failure."""
    account = f"{kind}:{email}"
    await hit(
        redis, f"login-ip:{ip}", limits.ip, "sign-in attempts from here", AccessReason.TOO_MANY_ATTEMPTS
    )
    await _refuse_if_locked(redis, account)
    try:
        result = await attempt()
    except DomainError as error:
        if error.code is ErrorCode.UNAUTHENTICATED:
            await _failed(redis, account, limits)
        raise
    await _best_effort(redis.delete(f"tessera:login-failures:{account}"))
    return result


async def guarded_register(redis: Redis, ip: str, limits: LoginLimits) -> None:
    await hit(
        redis, f"register-ip:{ip}", limits.register_ip, "sign-ups from here", AccessReason.TOO_MANY_ATTEMPTS
    )


async def _refuse_if_locked(redis: Redis, account: str) -> None:
    try:
        ttl = await redis.ttl(f"tessera:login-lock:{account}")
    except REDIS_DOWN as exc:
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE, "sign-in is briefly unavailable; try again") from exc
    if ttl > 0:
        raise DomainError(
            ErrorCode.RATE_LIMITED,
            f"too many failed sign-ins for this account; try again in {ttl} s",
            reason=AccessReason.ACCOUNT_LOCKED,
            retry_after_s=ttl,
        )


async def _failed(redis: Redis, account: str, limits: LoginLimits) -> None:
    """Counts a failure in the account's sliding window; the one that fills it locks the account."""
    now = time.time()
    failures = f"tessera:login-failures:{account}"
    window = limits.account_failures
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(failures, 0, now - window.window_s)
            pipe.zadd(failures, {f"{now:.6f}:{secrets.token_hex(4)}": now})
            pipe.zcard(failures)
            pipe.expire(failures, window.window_s + 1)
            _, _, count, _ = await pipe.execute()
        if count < window.limit:
            return
        # Longer each time within a day, and the failures start afresh.
        lockouts_key = f"tessera:login-lockouts:{account}"
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(lockouts_key)
            pipe.expire(lockouts_key, LOCKOUT_MEMORY_S)
            lockouts, _ = await pipe.execute()
        seconds = min(limits.lockout_s * 2 ** (int(lockouts) - 1), MAX_LOCKOUT_S)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(f"tessera:login-lock:{account}", 1, ex=seconds)
            pipe.delete(failures)
            await pipe.execute()
    except REDIS_DOWN:
        pass  # the failure goes uncounted; the next attempt answers SERVICE_UNAVAILABLE


async def _best_effort(work: Awaitable[object]) -> None:
    try:
        await work
    except REDIS_DOWN:
        pass
