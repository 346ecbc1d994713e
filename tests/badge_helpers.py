"""Badges through the API as a marketer sets them up and a customer sees them."""

from __future__ import annotations

from typing import Any

from tests.graphql import GraphQL

CREATE_BADGE = """
mutation($input: BadgeInput!) {
  createBadge(input: $input) {
    id key status name { fr en } description { fr en } icon rule audienceTags
    levels { level name { fr en } target rewardPoints icon }
  }
}
"""
PUBLISH_BADGE = "mutation($id: ID!) { publishBadge(id: $id) { id status } }"
ARCHIVE_BADGE = "mutation($id: ID!) { archiveBadge(id: $id) { id status } }"
BADGES = """
query {
  badges {
    id key name description icon level value nextTarget
    levels { level name target rewardPoints icon earnedAt }
  }
}
"""


def level(target: int, name: str = "", points: int = 0) -> dict[str, Any]:
    return {"name": {"en": name or f"Level {target}"}, "target": target, "rewardPoints": points}


def badge_input(
    key: str, levels: list[dict[str, Any]], rule: dict[str, Any] | None, **extra: Any
) -> dict[str, Any]:
    return {"key": key, "name": {"en": key.title(), "fr": key}, "levels": levels, "rule": rule, **extra}


async def published_badge(
    gql: GraphQL,
    marketer: str,
    key: str,
    levels: list[dict[str, Any]],
    rule: dict[str, Any] | None,
    **extra: Any,
) -> str:
    created = await gql(CREATE_BADGE, {"input": badge_input(key, levels, rule, **extra)}, token=marketer)
    badge_id = str(created["createBadge"]["id"])
    await gql(PUBLISH_BADGE, {"id": badge_id}, token=marketer)
    return badge_id


async def my_badges(gql: GraphQL, token: str) -> dict[str, dict[str, Any]]:
    """The customer's badges by key."""
    rows = (await gql(BADGES, token=token))["badges"]
    return {row["key"]: row for row in rows}
