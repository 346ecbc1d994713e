"""Badges as a marketer writes them: every mistake named by its field, the lifecycle, who may do what.

All through GraphQL over HTTP; a refused write leaves no badge behind.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories as f
from tests.badge_helpers import ARCHIVE_BADGE, CREATE_BADGE, PUBLISH_BADGE, badge_input, level, my_badges
from tests.challenge_helpers import CREATE, PUBLISH, challenge_input
from tests.graphql import GraphQL

COUNT_3: dict[str, Any] = {"steps": [{"event": "purchase", "aggregate": "count", "target": 3}]}
LEVELS = [level(1, "Bronze"), level(3, "Silver")]
DEFINITIONS = "query($status: BadgeStatus) { badgeDefinitions(status: $status) { id key status } }"
DEFINITION = "query($id: ID!) { badgeDefinition(id: $id) { id key status levels { level target } } }"
UPDATE = """
mutation($id: ID!, $input: BadgeInput!) { updateBadge(id: $id, input: $input) { id key name { en } } }
"""


def count_rule(target: int, steps: int = 1) -> dict[str, Any]:
    return {"steps": [{"event": "purchase", "aggregate": "count", "target": target}] * steps}


async def definitions(gql: GraphQL, marketer: str) -> list[dict[str, Any]]:
    return list((await gql(DEFINITIONS, {"status": None}, token=marketer))["badgeDefinitions"])


BAD_BADGES = [
    pytest.param({"key": "Acheteur Assidu"}, "key", "key: lowercase letters, digits", id="key-with-spaces"),
    pytest.param({"key": ""}, "key", "key: lowercase letters, digits", id="key-empty"),
    pytest.param({"name": {}}, "name", "name: give at least one of fr, en", id="name-empty"),
    pytest.param({"name": {"en": " "}}, "name", "name.en must have 1 to 60 characters", id="name-blank"),
    pytest.param({"levels": []}, "levels", "levels: give 1 to 10 levels", id="no-levels"),
    pytest.param({"levels": [level(n) for n in range(1, 12)]}, "levels", "1 to 10 levels", id="11-levels"),
    pytest.param(
        {"levels": [level(3), level(3)]},
        "levels",
        "levels[1].target must be above",
        id="targets-not-ascending",
    ),
    pytest.param(
        {"levels": [level(0)], "rule": None},
        "levels[0].target",
        "levels[0].target must be between",
        id="target-0",
    ),
    pytest.param(
        {"levels": [{**level(1), "rewardPoints": -5}]},
        "levels[0].rewardPoints",
        "levels[0].rewardPoints must be between 0",
        id="negative-reward",
    ),
    pytest.param(
        {"levels": [{**level(1), "name": {}}]},
        "levels[0].name",
        "give at least one of fr, en",
        id="level-unnamed",
    ),
    pytest.param(
        {"levels": LEVELS, "rule": count_rule(5)},
        "rule",
        "rule.steps[0].target must be the top level's target (3)",
        id="step-target-not-the-top-level",
    ),
    pytest.param(
        {"levels": LEVELS, "rule": count_rule(3, steps=2)},
        "levels",
        "a rule of several steps makes a single level, with target 1",
        id="several-steps-several-levels",
    ),
    pytest.param(
        {"levels": [level(1)], "rule": {"steps": []}},
        "rule",
        "steps: must be a list of 1 to 10",
        id="bad-rule",
    ),
    pytest.param({"audienceTags": ["VIP!"]}, "audienceTags", "is not a tag", id="bad-tag"),
    pytest.param({"icon": "x" * 201}, "icon", "icon must have at most 200 characters", id="icon-too-long"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_BADGES)
async def test_a_bad_badge_is_refused_with_its_field_and_writes_nothing(
    gql: GraphQL, changes: dict[str, Any], field: str, message: str
) -> None:
    marketer = await f.marketer_token(gql)
    data = {**badge_input("assidu", [level(3)], COUNT_3), **changes}
    error = await gql.error(CREATE_BADGE, {"input": data}, token=marketer)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert message in error["message"]
    assert await definitions(gql, marketer) == []


async def test_a_badge_is_created_as_a_draft_with_its_levels(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    data = badge_input(
        "assidu", [level(3, "Bronze", 10), level(10, "Silver")], {**count_rule(10)}, icon="cup.png"
    )
    created = (await gql(CREATE_BADGE, {"input": data}, token=marketer))["createBadge"]
    assert created["status"] == "DRAFT"
    assert created["name"] == {"en": "Assidu", "fr": "assidu"}
    assert created["levels"] == [
        {"level": 1, "name": {"en": "Bronze", "fr": None}, "target": 3, "rewardPoints": 10, "icon": ""},
        {"level": 2, "name": {"en": "Silver", "fr": None}, "target": 10, "rewardPoints": 0, "icon": ""},
    ]
    assert created["rule"]["steps"][0]["target"] == 10
    fetched = (await gql(DEFINITION, {"id": created["id"]}, token=marketer))["badgeDefinition"]
    assert [lv["target"] for lv in fetched["levels"]] == [3, 10]


async def test_keys_are_unique(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    await gql(CREATE_BADGE, {"input": badge_input("assidu", [level(3)], COUNT_3)}, token=marketer)
    error = await gql.error(CREATE_BADGE, {"input": badge_input("assidu", [level(1)], None)}, token=marketer)
    assert error["extensions"] == {"code": "CONFLICT", "field": "key", "reason": "KEY_TAKEN"}
    assert len(await definitions(gql, marketer)) == 1


async def test_drafts_change_published_badges_do_not(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    created = await gql(CREATE_BADGE, {"input": badge_input("assidu", [level(3)], COUNT_3)}, token=marketer)
    badge_id = created["createBadge"]["id"]
    renamed = {**badge_input("assidu", [level(3)], COUNT_3), "name": {"en": "Regular"}}
    assert (await gql(UPDATE, {"id": badge_id, "input": renamed}, token=marketer))["updateBadge"]["name"] == {
        "en": "Regular"
    }
    await gql(PUBLISH_BADGE, {"id": badge_id}, token=marketer)

    update = await gql.reason(UPDATE, {"id": badge_id, "input": renamed}, token=marketer)
    assert update == ("CONFLICT", "NOT_DRAFT")
    assert await gql.reason(PUBLISH_BADGE, {"id": badge_id}, token=marketer) == (
        "CONFLICT",
        "ALREADY_PUBLISHED",
    )
    archived = await gql(ARCHIVE_BADGE, {"id": badge_id}, token=marketer)
    assert archived["archiveBadge"]["status"] == "ARCHIVED"
    assert await gql.reason(ARCHIVE_BADGE, {"id": badge_id}, token=marketer) == ("CONFLICT", "ARCHIVED")
    assert await gql.reason(PUBLISH_BADGE, {"id": badge_id}, token=marketer) == ("CONFLICT", "ARCHIVED")


@pytest.mark.parametrize("missing", ["999999", "abc", "99999999999"])
async def test_an_id_without_a_badge_is_not_found(gql: GraphQL, missing: str) -> None:
    marketer = await f.marketer_token(gql)
    assert await gql.reason(DEFINITION, {"id": missing}, token=marketer) == ("NOT_FOUND", "UNKNOWN_BADGE")
    assert await gql.reason(PUBLISH_BADGE, {"id": missing}, token=marketer) == ("NOT_FOUND", "UNKNOWN_BADGE")


@pytest.mark.parametrize(("caller", "code"), [("customer", "FORBIDDEN"), ("anonymous", "UNAUTHENTICATED")])
async def test_only_marketers_manage_badges(gql: GraphQL, caller: str, code: str) -> None:
    auth = {"token": (await f.customer(gql)).token} if caller == "customer" else {}
    data = badge_input("assidu", [level(3)], COUNT_3)
    assert await gql.code(CREATE_BADGE, {"input": data}, **auth) == code
    assert await gql.code(DEFINITIONS, {"status": None}, **auth) == code
    assert await definitions(gql, await f.marketer_token(gql)) == []


async def test_only_customers_see_their_badges(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    assert await gql.code("{ badges { id } }", token=marketer) == "FORBIDDEN"
    assert await gql.code("{ badges { id } }") == "UNAUTHENTICATED"
    assert await my_badges(gql, (await f.customer(gql)).token) == {}


async def test_drafts_are_not_shown_to_customers(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    await gql(CREATE_BADGE, {"input": badge_input("assidu", [level(3)], COUNT_3)}, token=marketer)
    assert await my_badges(gql, (await f.customer(gql)).token) == {}


async def test_a_challenge_rewards_only_a_badge_without_a_rule(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    ruled = await gql(CREATE_BADGE, {"input": badge_input("assidu", [level(3)], COUNT_3)}, token=marketer)
    granted = await gql(CREATE_BADGE, {"input": badge_input("regular", [level(1)], None)}, token=marketer)

    for bad, reason in (
        (ruled["createBadge"]["id"], "REWARD_BADGE_HAS_RULE"),
        ("999999", "UNKNOWN_REWARD_BADGE"),
        ("abc", "UNKNOWN_REWARD_BADGE"),
    ):
        error = await gql.error(
            CREATE, {"input": challenge_input(COUNT_3, rewardBadgeId=bad)}, token=marketer
        )
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "rewardBadgeId", "reason": reason}

    granted_id = granted["createBadge"]["id"]
    created = await gql(CREATE, {"input": challenge_input(COUNT_3, rewardBadgeId=granted_id)}, token=marketer)
    challenge_id = created["createChallenge"]["id"]
    # A draft badge cannot be granted yet: publishing the challenge first would grant nothing.
    publish = await gql.reason(PUBLISH, {"id": challenge_id}, token=marketer)
    assert publish == ("CONFLICT", "REWARD_BADGE_NOT_PUBLISHED")
    await gql(PUBLISH_BADGE, {"id": granted_id}, token=marketer)
    assert (await gql(PUBLISH, {"id": challenge_id}, token=marketer))["publishChallenge"][
        "status"
    ] == "ACTIVE"
