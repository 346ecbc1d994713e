"""The live challenges an event type concerns (see game/rules/index.py for the caching)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from game.challenges.models import Challenge, ChallengeStatus
from game.rules.index import TypeIndex
from game.rules.language import Rule, parse_rule


@dataclass(frozen=True, slots=True)
class Live:
    challenge: Challenge
    rule: Rule


async def _load() -> list[tuple[Live, Rule]]:
    live = [Live(c, parse_rule(c.rule)) for c in await Challenge.filter(status=ChallengeStatus.ACTIVE)]
    return [(item, item.rule) for item in sorted(live, key=lambda item: item.challenge.id)]


_index: TypeIndex[Live] = TypeIndex("tessera:challenges:version", _load)


async def invalidate(redis: Redis) -> None:
    await _index.invalidate(redis)


async def live_challenges(redis: Redis, event_type: str) -> list[Live]:
    return await _index.get(redis, event_type)
