"""Live updates over Redis pub/sub, one channel per customer and kind: derived state, so a message missed
(no subscriber, a dropped connection) loses nothing; the database has it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from game.after_commit import best_effort


@dataclass(frozen=True, slots=True)
class Update:
    """One live message, built by the domain that moved something and published after commit."""

    channel: str
    message: dict[str, Any]


async def publish(redis: Redis, channel: str, message: dict[str, Any]) -> None:
    await best_effort("a live update", redis.publish(channel, json.dumps(message)))


async def publish_all(redis: Redis, updates: Sequence[Update]) -> None:
    """Every message of a commit in one round trip, in order."""
    if not updates:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for update in updates:
            pipe.publish(update.channel, json.dumps(update.message))
        await best_effort("live updates", pipe.execute())


async def listen(redis: Redis, channel: str) -> AsyncIterator[dict[str, Any]]:
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    try:
        async for message in pubsub.listen():
            data: dict[str, Any] = json.loads(message["data"])
            yield data
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
