"""Backfill: a challenge published with `backfill` also counts the events of its window recorded before.

Events processed before publication were evaluated without this challenge; later ones are evaluated by
`process_event` with it. So the backfill takes exactly the window's events processed before `published_at`,
in the order they happened, once (`backfilled_at`), in one transaction with the challenge row locked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from game.challenges.evaluation import customer_tags, move, settle
from game.challenges.index import Live
from game.challenges.models import Challenge, ChallengeStatus
from game.customers.tags import in_audience
from game.events.models import Event
from game.rules.facts import facts_of
from game.rules.language import parse_rule
from game.rules.progress import matches

BATCH = 500


async def backfill(challenge_id: int, tz: ZoneInfo) -> int:
    """Returns how many events it counted (0 when there is nothing, or nothing more, to do)."""
    async with in_transaction() as conn:
        challenge = await Challenge.select_for_update().using_db(conn).get_or_none(id=challenge_id)
        if (
            challenge is None
            or not challenge.backfill
            or challenge.backfilled_at is not None
            or challenge.published_at is None
            or challenge.status is not ChallengeStatus.ACTIVE
        ):
            return 0
        rule = parse_rule(challenge.rule)
        live = Live(challenge, rule)
        query = Event.filter(
            type__in=sorted(rule.event_types),
            processed_at__lt=challenge.published_at,
            occurred_at__gte=challenge.starts_at,
        ).using_db(conn)
        if challenge.ends_at is not None:
            query = query.filter(occurred_at__lt=challenge.ends_at)
        tags: dict[UUID, list[str]] = {}
        counted = 0
        for offset in range(0, await query.count(), BATCH):
            for event in await query.order_by("occurred_at", "id").offset(offset).limit(BATCH):
                if event.customer_id not in tags:
                    tags[event.customer_id] = await customer_tags(conn, event.customer_id)
                if in_audience(challenge.audience_tags, tags[event.customer_id]):
                    facts = facts_of(event.type, event.payload)
                    if any(matches(step, event.type, facts) for step in rule.steps):
                        await settle(conn, event, await move(conn, [live], event, facts, tz))
                    counted += 1
        challenge.backfilled_at = datetime.now(UTC)
        await challenge.save(using_db=conn, update_fields=["backfilled_at"])
    return counted
