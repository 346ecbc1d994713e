"""Everything the engine evaluates an event against, as one cached snapshot (see game/rules/index.py)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from game.badges.index import LiveBadge, load_live_badges
from game.challenges.index import Live, load_live_challenges
from game.rules.index import Cached, current_version
from game.streaks.rules import StreakConfig
from game.streaks.service import streak_config


@dataclass(frozen=True, slots=True)
class LiveRules:
    challenges: dict[str, list[Live]]
    badges: dict[str, list[LiveBadge]]
    streak: StreakConfig | None


async def _load() -> LiveRules:
    return LiveRules(await load_live_challenges(), await load_live_badges(), await streak_config())


_cache: Cached[LiveRules] = Cached(_load)


async def live_rules(redis: Redis) -> LiveRules:
    return await _cache.get(await current_version(redis))
