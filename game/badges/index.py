"""The live badges with a rule, indexed by the events they can match (game/rules/index.py)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from game.badges.levels import Level
from game.badges.models import Badge, BadgeStatus
from game.rules.index import RuleIndex
from game.rules.language import Rule, parse_rule


@dataclass(frozen=True, slots=True)
class LiveBadge:
    badge: Badge
    rule: Rule
    levels: list[Level]


async def load_live_badges(conn: BaseDBAsyncClient) -> RuleIndex[LiveBadge]:
    live = []
    rows = Badge.filter(status=BadgeStatus.ACTIVE, rule__not_isnull=True).using_db(conn)
    for badge in await rows.order_by("id"):
        rule = parse_rule(badge.rule)
        live.append(LiveBadge(badge, rule, [Level.from_json(x) for x in badge.levels]))
    return RuleIndex((item, item.rule) for item in live)
