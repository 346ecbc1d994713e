"""Live balance updates (see game/live.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from uuid import UUID

from redis.asyncio import Redis

from game.live import listen, publish


@dataclass(frozen=True, slots=True)
class PointsChange:
    balance: int
    delta: int
    reason: str


def _channel(customer_id: UUID) -> str:
    return f"tessera:points:{customer_id}"


async def publish_points_change(redis: Redis, customer_id: UUID, change: PointsChange) -> None:
    await publish(redis, _channel(customer_id), asdict(change))


async def points_changes(redis: Redis, customer_id: UUID) -> AsyncIterator[PointsChange]:
    async for data in listen(redis, _channel(customer_id)):
        yield PointsChange(balance=int(data["balance"]), delta=int(data["delta"]), reason=str(data["reason"]))
