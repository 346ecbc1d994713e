"""Marketers' definitions as the workers evaluate them, cached per worker process under one version.

Any change that the engine must see (publishing, pausing or archiving a challenge or a badge, configuring
the streak) writes a fresh random version to Redis; a worker reloads when the version differs from the one it
loaded with, so an event costs one Redis GET, not a query per kind of definition. Random rather than a
counter: after Redis is wiped, a counter would count the same numbers again and a stale cache could match.
RELOAD_S bounds staleness regardless.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from redis.asyncio import Redis

from game.rules.language import Rule

VERSION_KEY = "tessera:rules:version"
RELOAD_S = 30.0
T = TypeVar("T")


async def invalidate(redis: Redis) -> None:
    await redis.set(VERSION_KEY, uuid.uuid4().hex)


async def current_version(redis: Redis) -> bytes | None:
    version: bytes | None = await redis.get(VERSION_KEY)
    return version


@dataclass
class Cached(Generic[T]):
    load: Callable[[], Awaitable[T]]
    version: bytes | None = None
    loaded_at: float = float("-inf")
    value: T | None = None

    async def get(self, version: bytes | None) -> T:
        if self.value is None or version != self.version or time.monotonic() - self.loaded_at > RELOAD_S:
            self.value, self.version, self.loaded_at = await self.load(), version, time.monotonic()
        return self.value


def by_event_type(items: Iterable[tuple[T, Rule]]) -> dict[str, list[T]]:
    """Each definition under every event type its rule mentions, in the given order."""
    index: dict[str, list[T]] = defaultdict(list)
    for item, rule in items:
        for kind in rule.event_types:
            index[kind].append(item)
    return dict(index)
