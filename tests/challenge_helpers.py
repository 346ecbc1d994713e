"""Challenges through the API as a marketer would set them up, and the worker's task run by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from app.settings import Settings
from game.events.models import Event
from tests.graphql import GraphQL
from workers.tasks import process_event

CREATE = """
mutation($input: ChallengeInput!) { createChallenge(input: $input) { id status rule } }
"""
PUBLISH = "mutation($id: ID!) { publishChallenge(id: $id) { id status } }"
CHALLENGES = """
query($status: ChallengeView!) {
  challenges(status: $status) {
    id title period rewardPoints completedAt steps { event aggregate target value }
  }
}
"""


def challenge_input(rule: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    data = {
        "title": {"en": "Regular", "fr": "Habitué"},
        "startsAt": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
        "rule": rule,
        "rewardPoints": 50,
    }
    data.update(overrides)
    return data


async def published_challenge(gql: GraphQL, marketer: str, rule: dict[str, Any], **overrides: Any) -> str:
    created = await gql(CREATE, {"input": challenge_input(rule, **overrides)}, token=marketer)
    challenge_id = str(created["createChallenge"]["id"])
    await gql(PUBLISH, {"id": challenge_id}, token=marketer)
    return challenge_id


async def process_all(settings: Settings, redis: Redis) -> list[str]:
    """Runs the worker's process_event task on every unprocessed event, oldest first."""
    ctx = {"settings": settings, "redis": redis, "job_try": 1}
    ids = await Event.filter(processed_at=None).order_by("id").values_list("id", flat=True)
    return [await process_event(ctx, event_id) for event_id in ids]
