"""Live badge levels over Redis pub/sub (derived state: a missed message loses nothing)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from uuid import UUID

from redis.asyncio import Redis

from game.badges.evaluation import Earned


def channel(customer_id: UUID | str) -> str:
    return f"tessera:badges:{customer_id}"


async def publish_earned(redis: Redis, customer_id: UUID, earned: Earned) -> None:
    await redis.publish(channel(customer_id), json.dumps(asdict(earned)))


async def earned_updates(redis: Redis, customer_id: UUID) -> AsyncIterator[Earned]:
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel(customer_id))
    try:
        async for message in pubsub.listen():
            yield Earned(**json.loads(message["data"]))
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
