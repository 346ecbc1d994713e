"""The live challenges, by the event types their rules mention."""

from __future__ import annotations

from dataclasses import dataclass

from game.challenges.models import Challenge, ChallengeStatus
from game.rules.index import by_event_type
from game.rules.language import Rule, parse_rule


@dataclass(frozen=True, slots=True)
class Live:
    challenge: Challenge
    rule: Rule


async def load_live_challenges() -> dict[str, list[Live]]:
    live = [Live(c, parse_rule(c.rule)) for c in await Challenge.filter(status=ChallengeStatus.ACTIVE)]
    return by_event_type((item, item.rule) for item in sorted(live, key=lambda item: item.challenge.id))
