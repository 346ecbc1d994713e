"""The live top of a board: a message on subscribing, then at most one per `interval_s`, however often the
board moves (changes in between are coalesced into the next message). A per-subscription timer: each
subscriber reads the top itself when its turn comes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from uuid import UUID
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from game.leaderboards import store
from game.leaderboards.service import Shown, board_by_key, top

TOP = 10


async def top_changes(
    redis: Redis, key: str, tz: ZoneInfo, me: UUID | None, interval_s: float
) -> AsyncIterator[list[Shown]]:
    await board_by_key(key)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    async with store.available():
        await pubsub.subscribe(store.changed_channel(key))
    try:
        yield await top(redis, key, tz, me, TOP)
        sent = time.monotonic()
        while True:
            if await pubsub.get_message(ignore_subscribe_messages=True, timeout=30.0) is None:
                continue
            wait = sent + interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            while await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.0) is not None:
                pass  # coalesced into this message
            yield await top(redis, key, tz, me, TOP)
            sent = time.monotonic()
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
