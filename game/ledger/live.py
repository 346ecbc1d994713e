"""Live balance updates over Redis pub/sub (derived state: a missed message loses nothing)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class PointsChange:
    balance: int
    delta: int
    reason: str


def _channel(customer_id: UUID) -> str:
    return f"tessera:points:{customer_id}"


async def publish_points_change(redis: Redis, customer_id: UUID, change: PointsChange) -> None:
    message = json.dumps({"balance": change.balance, "delta": change.delta, "reason": change.reason})
    await redis.publish(_channel(customer_id), message)


async def points_changes(redis: Redis, customer_id: UUID) -> AsyncIterator[PointsChange]:
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(_channel(customer_id))
    try:
        async for message in pubsub.listen():
            data = json.loads(message["data"])
            yield PointsChange(
                balance=int(data["balance"]), delta=int(data["delta"]), reason=str(data["reason"])
            )
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
