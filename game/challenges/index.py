"""The live challenges, indexed by the events they can match (game/rules/index.py)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from game.challenges.models import Challenge, ChallengeStatus
from game.rules.index import RuleIndex
from game.rules.language import Rule, parse_rule


@dataclass(frozen=True, slots=True)
class Live:
    challenge: Challenge
    rule: Rule


async def load_live_challenges(conn: BaseDBAsyncClient) -> RuleIndex[Live]:
    rows = await Challenge.filter(status=ChallengeStatus.ACTIVE).using_db(conn)
    live = [Live(c, parse_rule(c.rule)) for c in rows]
    return RuleIndex((item, item.rule) for item in sorted(live, key=lambda item: item.challenge.id))
