"""Which live challenges an event type concerns, cached per worker process.

Publishing, pausing or archiving writes a fresh random version to Redis; a worker reloads its index when the
version differs from the one it loaded with. Random rather than a counter: after Redis is wiped, a counter
would count the same numbers again and a stale index could match. RELOAD_S bounds staleness regardless.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from redis.asyncio import Redis

from game.challenges.models import Challenge, ChallengeStatus
from game.rules.language import Rule, parse_rule

VERSION_KEY = "tessera:challenges:version"
RELOAD_S = 30.0


@dataclass(frozen=True, slots=True)
class Live:
    challenge: Challenge
    rule: Rule


@dataclass
class _Index:
    version: bytes | None = None
    loaded_at: float = float("-inf")
    by_type: dict[str, list[Live]] = field(default_factory=dict)


_index = _Index()


async def invalidate(redis: Redis) -> None:
    await redis.set(VERSION_KEY, uuid.uuid4().hex)


async def live_challenges(redis: Redis, event_type: str) -> list[Live]:
    version = await redis.get(VERSION_KEY)
    if version != _index.version or time.monotonic() - _index.loaded_at > RELOAD_S:
        by_type: dict[str, list[Live]] = defaultdict(list)
        for challenge in await Challenge.filter(status=ChallengeStatus.ACTIVE).order_by("id"):
            live = Live(challenge, parse_rule(challenge.rule))
            for kind in live.rule.event_types:
                by_type[kind].append(live)
        _index.version, _index.loaded_at, _index.by_type = version, time.monotonic(), dict(by_type)
    return _index.by_type.get(event_type, [])
