"""The streak as marketers configure it: defaults, replacement, every bad setting named by its field, and who
may do what. All through GraphQL over HTTP; a refused configuration leaves the previous one in place."""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories as f
from tests.graphql import GraphQL

SETTINGS_FIELDS = "period activityTypes freezeDays milestones { length rewardPoints } active"
CONFIGURE = f"""
mutation($input: StreakSettingsInput!) {{ configureStreak(input: $input) {{ {SETTINGS_FIELDS} }} }}
"""
SETTINGS = f"{{ streakSettings {{ {SETTINGS_FIELDS} }} }}"
STREAK = "{ streak { period current best freezeDays freezesLeft lastActiveOn alive } }"
DEFAULT_TYPES = ["check_in", "eco_action", "purchase"]


def milestone(length: int, points: int) -> dict[str, int]:
    return {"length": length, "rewardPoints": points}


GOOD: dict[str, Any] = {
    "period": "WEEKLY",
    "activityTypes": ["purchase", "check_in"],
    "freezeDays": 1,
    "milestones": [milestone(4, 30), milestone(12, 100)],
}


async def settings(gql: GraphQL, marketer: str) -> dict[str, Any] | None:
    return (await gql(SETTINGS, token=marketer))["streakSettings"]  # type: ignore[no-any-return]


async def test_a_marketer_configures_the_streak_and_reads_it_back(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    assert await settings(gql, marketer) is None

    configured = (await gql(CONFIGURE, {"input": GOOD}, token=marketer))["configureStreak"]

    expected = {**GOOD, "activityTypes": ["check_in", "purchase"], "active": True}
    assert configured == expected
    assert await settings(gql, marketer) == expected


async def test_defaults_and_replacement(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    await gql(CONFIGURE, {"input": GOOD}, token=marketer)

    # Configuring again replaces every setting, omitted ones by their defaults.
    replaced = (await gql(CONFIGURE, {"input": {}}, token=marketer))["configureStreak"]

    expected = {
        "period": "DAILY",
        "activityTypes": DEFAULT_TYPES,
        "freezeDays": 0,
        "milestones": [],
        "active": True,
    }
    assert replaced == expected
    assert await settings(gql, marketer) == expected


async def test_activity_types_are_deduplicated(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    data = {"activityTypes": ["share", "check_in", "share"]}
    configured = (await gql(CONFIGURE, {"input": data}, token=marketer))["configureStreak"]
    assert configured["activityTypes"] == ["check_in", "share"]


BAD_SETTINGS = [
    pytest.param(
        {"freezeDays": -1}, "freezeDays", "freezeDays must be between 0 and 30", id="freeze-negative"
    ),
    pytest.param({"freezeDays": 31}, "freezeDays", "freezeDays must be between 0 and 30", id="freeze-31"),
    pytest.param({"activityTypes": []}, "activityTypes", "give 1 to 20 event types", id="no-activity-types"),
    pytest.param(
        {"activityTypes": [f"type_{n}" for n in range(21)]},
        "activityTypes",
        "give 1 to 20 event types",
        id="21-activity-types",
    ),
    pytest.param({"activityTypes": ["Check-In"]}, "activityTypes", "'Check-In' is not", id="type-bad-chars"),
    pytest.param({"activityTypes": [""]}, "activityTypes", "'' is not", id="type-empty"),
    pytest.param({"activityTypes": ["e" * 65]}, "activityTypes", "is not an activity", id="type-65-chars"),
    pytest.param({"activityTypes": ["purchase", "refund"]}, "activityTypes", "'refund' is not", id="refund"),
    pytest.param(
        {"milestones": [milestone(0, 10)]},
        "milestones",
        "milestones[0].length must be between 1 and 3660",
        id="length-zero",
    ),
    pytest.param(
        {"milestones": [milestone(3661, 10)]},
        "milestones",
        "milestones[0].length must be between 1 and 3660",
        id="length-too-long",
    ),
    pytest.param(
        {"milestones": [milestone(7, 50), milestone(3, 20)]},
        "milestones",
        "milestones[1].length must be greater than the previous milestone's (7)",
        id="descending",
    ),
    pytest.param(
        {"milestones": [milestone(3, 20), milestone(3, 50)]},
        "milestones",
        "milestones[1].length must be greater than the previous milestone's (3)",
        id="repeated-length",
    ),
    pytest.param(
        {"milestones": [milestone(3, 0)]},
        "milestones",
        "milestones[0].rewardPoints must be between 1 and 1000000",
        id="reward-zero",
    ),
    pytest.param(
        {"milestones": [milestone(3, 20), milestone(5, -5)]},
        "milestones",
        "milestones[1].rewardPoints must be between 1 and 1000000",
        id="reward-negative",
    ),
    pytest.param(
        {"milestones": [milestone(3, 1_000_001)]},
        "milestones",
        "milestones[0].rewardPoints must be between 1 and 1000000",
        id="reward-too-big",
    ),
    pytest.param(
        {"milestones": [milestone(n, 1) for n in range(1, 22)]},
        "milestones",
        "milestones: at most 20",
        id="21-milestones",
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_SETTINGS)
async def test_bad_settings_are_refused_and_change_nothing(
    gql: GraphQL, changes: dict[str, Any], field: str, message: str
) -> None:
    marketer = await f.marketer_token(gql)
    before = (await gql(CONFIGURE, {"input": GOOD}, token=marketer))["configureStreak"]

    error = await gql.error(CONFIGURE, {"input": {**GOOD, **changes}}, token=marketer)

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert message in error["message"]
    assert await settings(gql, marketer) == before


async def test_a_period_outside_the_enum_is_refused(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    code = await gql.code(CONFIGURE, {"input": {"period": "MONTHLY"}}, token=marketer)
    assert code == "BAD_USER_INPUT"
    assert await settings(gql, marketer) is None


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        pytest.param("customer", "FORBIDDEN", id="customer"),
        pytest.param("anonymous", "UNAUTHENTICATED", id="anonymous"),
        pytest.param("api-key", "FORBIDDEN", id="api-key"),
    ],
)
@pytest.mark.parametrize("operation", ["configureStreak", "streakSettings"])
async def test_only_marketers_configure_and_read_the_settings(
    gql: GraphQL, operation: str, caller: str, code: str
) -> None:
    marketer = await f.marketer_token(gql)
    before = (await gql(CONFIGURE, {"input": GOOD}, token=marketer))["configureStreak"]
    auth: dict[str, str] = {}
    if caller == "customer":
        auth["token"] = (await f.customer(gql)).token
    elif caller == "api-key":
        auth["api_key"] = await f.api_key()
    query, variables = (
        (CONFIGURE, {"input": {"freezeDays": 5}}) if operation == "configureStreak" else (SETTINGS, {})
    )

    error = await gql.error(query, variables, **auth)

    assert error["extensions"]["code"] == code
    assert error["path"] == [operation]
    assert await settings(gql, marketer) == before


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        pytest.param("marketer", "FORBIDDEN", id="marketer"),
        pytest.param("anonymous", "UNAUTHENTICATED", id="anonymous"),
        pytest.param("api-key", "FORBIDDEN", id="api-key"),
    ],
)
async def test_only_customers_read_a_streak(gql: GraphQL, caller: str, code: str) -> None:
    marketer = await f.marketer_token(gql)
    await gql(CONFIGURE, {"input": GOOD}, token=marketer)
    auth = {"marketer": {"token": marketer}, "anonymous": {}, "api-key": {"api_key": await f.api_key()}}[
        caller
    ]
    error = await gql.error(STREAK, **auth)
    assert error["extensions"]["code"] == code
    assert error["path"] == ["streak"]
