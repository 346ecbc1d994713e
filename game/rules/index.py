"""Which live definitions (challenges, badges) an event type concerns, cached per worker process.

Publishing, pausing or archiving writes a fresh random version to Redis; a worker reloads an index when the
version differs from the one it loaded with. Random rather than a counter: after Redis is wiped, a counter
would count the same numbers again and a stale index could match. RELOAD_S bounds staleness regardless.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from redis.asyncio import Redis

from game.rules.language import Rule

RELOAD_S = 30.0
T = TypeVar("T")


@dataclass
class TypeIndex(Generic[T]):
    version_key: str
    load: Callable[[], Awaitable[Sequence[tuple[T, Rule]]]]
    version: bytes | None = None
    loaded_at: float = float("-inf")
    by_type: dict[str, list[T]] = field(default_factory=dict)

    async def invalidate(self, redis: Redis) -> None:
        await redis.set(self.version_key, uuid.uuid4().hex)

    async def get(self, redis: Redis, event_type: str) -> list[T]:
        version = await redis.get(self.version_key)
        if version != self.version or time.monotonic() - self.loaded_at > RELOAD_S:
            by_type: dict[str, list[T]] = defaultdict(list)
            for item, rule in await self.load():
                for kind in rule.event_types:
                    by_type[kind].append(item)
            self.version, self.loaded_at, self.by_type = version, time.monotonic(), dict(by_type)
        return self.by_type.get(event_type, [])
