"""The live badges an event type concerns (see game/rules/index.py for the caching)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from game.badges.levels import Level
from game.badges.models import Badge, BadgeStatus
from game.rules.index import TypeIndex
from game.rules.language import Rule, parse_rule


@dataclass(frozen=True, slots=True)
class LiveBadge:
    badge: Badge
    rule: Rule
    levels: list[Level]


async def _load() -> list[tuple[LiveBadge, Rule]]:
    live = []
    for badge in await Badge.filter(status=BadgeStatus.ACTIVE, rule__not_isnull=True).order_by("id"):
        rule = parse_rule(badge.rule)
        live.append((LiveBadge(badge, rule, [Level.from_json(x) for x in badge.levels]), rule))
    return live


_index: TypeIndex[LiveBadge] = TypeIndex("tessera:badges:version", _load)


async def invalidate(redis: Redis) -> None:
    await _index.invalidate(redis)


async def live_badges(redis: Redis, event_type: str) -> list[LiveBadge]:
    return await _index.get(redis, event_type)
