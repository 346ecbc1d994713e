"""Live badge levels (see game/live.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from uuid import UUID

from redis.asyncio import Redis

from game.badges.evaluation import Earned
from game.live import listen, publish


def channel(customer_id: UUID | str) -> str:
    return f"tessera:badges:{customer_id}"


async def publish_earned(redis: Redis, customer_id: UUID, earned: Earned) -> None:
    await publish(redis, channel(customer_id), asdict(earned))


async def earned_updates(redis: Redis, customer_id: UUID) -> AsyncIterator[Earned]:
    async for data in listen(redis, channel(customer_id)):
        yield Earned(**data)
