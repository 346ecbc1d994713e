"""Eco items in a purchase earn the earn rule's eco bonus: configured by marketers, awarded over GraphQL."""

from __future__ import annotations

from typing import Any

from tests import factories as f
from tests.graphql import GraphQL

UPSERT_RULE = """
mutation($input: EarnRuleInput!) {
  upsertEarnRule(input: $input) {
    currency pointsPerUnit ecoBonusPct categoryMultipliers { category percent }
  }
}
"""
EARN_RULES = "{ earnRules { currency pointsPerUnit ecoBonusPct categoryMultipliers { category percent } } }"


async def _rules(gql: GraphQL, token: str) -> list[dict[str, Any]]:
    return list((await gql(EARN_RULES, token=token))["earnRules"])


async def test_marketer_sets_the_eco_bonus(gql: GraphQL) -> None:
    token = await f.marketer_token(gql)
    rule = {
        "currency": "EUR",
        "pointsPerUnit": 10,
        "ecoBonusPct": 50,
        "categoryMultipliers": [{"category": "beans", "percent": 200}],
    }

    upserted = (await gql(UPSERT_RULE, {"input": rule}, token=token))["upsertEarnRule"]

    assert upserted == rule
    assert await _rules(gql, token) == [rule]


async def test_upsert_without_eco_bonus_replaces_it_with_none(gql: GraphQL) -> None:
    token = await f.marketer_token(gql)
    await gql(
        UPSERT_RULE, {"input": {"currency": "EUR", "pointsPerUnit": 10, "ecoBonusPct": 50}}, token=token
    )

    replaced = await gql(UPSERT_RULE, {"input": {"currency": "EUR", "pointsPerUnit": 10}}, token=token)

    assert replaced["upsertEarnRule"]["ecoBonusPct"] == 0
    assert [r["ecoBonusPct"] for r in await _rules(gql, token)] == [0]


async def test_eco_bonus_bounds_are_accepted(gql: GraphQL) -> None:
    token = await f.marketer_token(gql)

    accepted = []
    for percent in (0, 1000):
        rule = {"currency": "EUR", "pointsPerUnit": 10, "ecoBonusPct": percent}
        accepted.append(
            (await gql(UPSERT_RULE, {"input": rule}, token=token))["upsertEarnRule"]["ecoBonusPct"]
        )

    assert accepted == [0, 1000]


# Out of range for the domain, then values graphql-core refuses while coercing $input.
BAD_ECO_BONUS: list[object] = [-1, 1001, 2**31 - 1, 12.5, "50", None]


async def test_bad_eco_bonus_is_refused_and_writes_nothing(gql: GraphQL) -> None:
    """One marketer for every case: signing in costs a password hash."""
    token = await f.marketer_token(gql)
    before = {"currency": "EUR", "pointsPerUnit": 10, "ecoBonusPct": 50, "categoryMultipliers": []}
    await gql(UPSERT_RULE, {"input": before}, token=token)

    errors = []
    for percent in BAD_ECO_BONUS:
        rule = {"currency": "EUR", "pointsPerUnit": 20, "ecoBonusPct": percent}
        errors.append(await gql.error(UPSERT_RULE, {"input": rule}, token=token))

    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"] * len(BAD_ECO_BONUS)
    # The domain's refusals name the field and the range; coercion failures name the field in the message.
    assert [e["extensions"].get("field") for e in errors[:3]] == ["ecoBonusPct"] * 3
    assert all("between 0 and 1000" in e["message"] for e in errors[:3])
    assert all("ecoBonusPct" in e["message"] for e in errors[3:])
    assert await _rules(gql, token) == [before]
