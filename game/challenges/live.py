"""Live challenge progress (see game/live.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from uuid import UUID

from redis.asyncio import Redis

from game.challenges.evaluation import Moved
from game.live import listen, publish


def _channel(customer_id: UUID) -> str:
    return f"tessera:challenges:{customer_id}"


async def publish_progress(redis: Redis, customer_id: UUID, moved: Moved) -> None:
    await publish(redis, _channel(customer_id), asdict(moved))


async def progress_updates(redis: Redis, customer_id: UUID) -> AsyncIterator[Moved]:
    async for data in listen(redis, _channel(customer_id)):
        yield Moved(**data)
