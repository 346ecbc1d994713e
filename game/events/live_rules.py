"""Everything the engine evaluates an event against, as one snapshot cached per process and reloaded when
the rules generation moves (game/rules/generation.py)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from game.badges.index import LiveBadge, load_live_badges
from game.challenges.index import Live, load_live_challenges
from game.leaderboards.models import Leaderboard
from game.referrals.models import ReferralSetting
from game.rules.generation import Generation
from game.rules.index import RuleIndex
from game.streaks.rules import StreakConfig
from game.streaks.service import streak_config


@dataclass(frozen=True, slots=True)
class LiveRules:
    generation: Generation
    challenges: RuleIndex[Live]
    badges: RuleIndex[LiveBadge]
    streak: StreakConfig | None
    boards: tuple[Leaderboard, ...]  # the live leaderboards, oldest first
    referrals_active: bool  # whether purchases may qualify referrals


_cache: list[LiveRules] = []


async def live_rules(conn: BaseDBAsyncClient, generation: Generation) -> LiveRules:
    """The snapshot of `generation`, read through `conn`: call it inside a transaction that holds the rules
    lock and has read `generation`, so that what it loads is that generation exactly."""
    if _cache and _cache[0].generation == generation and generation.changed_at is not None:
        return _cache[0]
    rules = LiveRules(
        generation,
        await load_live_challenges(conn),
        await load_live_badges(conn),
        await streak_config(conn),
        tuple(await Leaderboard.filter(archived_at=None).using_db(conn).order_by("id")),
        await ReferralSetting.filter(active=True).using_db(conn).exists(),
    )
    _cache[:] = [rules]
    return rules
