"""Live challenge progress over Redis pub/sub (derived state: a missed message loses nothing)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from uuid import UUID

from redis.asyncio import Redis

from game.challenges.evaluation import Moved


def _channel(customer_id: UUID) -> str:
    return f"tessera:challenges:{customer_id}"


async def publish_progress(redis: Redis, customer_id: UUID, moved: Moved) -> None:
    await redis.publish(_channel(customer_id), json.dumps(asdict(moved)))


async def progress_updates(redis: Redis, customer_id: UUID) -> AsyncIterator[Moved]:
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(_channel(customer_id))
    try:
        async for message in pubsub.listen():
            yield Moved(**json.loads(message["data"]))
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
