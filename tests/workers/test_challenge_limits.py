"""Who may take part in a challenge, how often, and how much the programme spends on it."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from app.settings import Settings
from tests import factories as f
from tests.challenge_helpers import CHALLENGES, challenge_input, process_all, published_challenge
from tests.graphql import GraphQL

ONE_PURCHASE = {"steps": [{"event": "purchase", "aggregate": "count", "target": 1}]}
TWO_PURCHASES = {"steps": [{"event": "purchase", "aggregate": "count", "target": 2}]}
SET_TAGS = """
mutation($id: ID!, $tags: [String!]!) { setCustomerTags(customerId: $id, tags: $tags) { customerId tags } }
"""


async def _buy(gql: GraphQL, key: str, customer: f.Customer, *orders: str) -> None:
    for order in orders:
        await gql(f.RECORD_PURCHASE, {"input": f.purchase(customer.id, order, 100)}, api_key=key)


async def _bonus_entries(gql: GraphQL, customer: f.Customer) -> list[int]:
    me = (await gql(f.ME, {"first": 100}, token=customer.token))["me"]
    return [e["node"]["delta"] for e in me["ledger"]["edges"] if e["node"]["kind"] == "BONUS"]


async def _setup(gql: GraphQL) -> tuple[str, str]:
    await f.earn_rule(points_per_unit=0)
    return await f.marketer_token(gql), await f.api_key()


async def test_audience_tags_select_who_takes_part(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, key = await _setup(gql)
    vip, regular = await f.customer(gql), await f.customer(gql)
    tagged = await gql(SET_TAGS, {"id": vip.id, "tags": ["vip", "paris"]}, token=marketer)
    assert tagged["setCustomerTags"] == {"customerId": vip.id, "tags": ["paris", "vip"]}
    await published_challenge(gql, marketer, ONE_PURCHASE, audienceTags=["vip", "gold"])

    assert len((await gql(CHALLENGES, {"status": "ACTIVE"}, token=vip.token))["challenges"]) == 1
    assert (await gql(CHALLENGES, {"status": "ACTIVE"}, token=regular.token))["challenges"] == []
    await _buy(gql, key, vip, "V-1")
    await _buy(gql, key, regular, "R-1")
    await process_all(settings, redis)

    assert await _bonus_entries(gql, vip) == [50]
    assert await _bonus_entries(gql, regular) == []


async def test_tags_are_validated_and_marketer_only(gql: GraphQL) -> None:
    marketer, _ = await _setup(gql)
    alice = await f.customer(gql)

    bad = await gql.error(SET_TAGS, {"id": alice.id, "tags": ["Not A Tag"]}, token=marketer)
    forbidden = await gql.code(SET_TAGS, {"id": alice.id, "tags": ["vip"]}, token=alice.token)
    unknown = await gql.code(
        SET_TAGS, {"id": "00000000-0000-0000-0000-000000000000", "tags": ["vip"]}, token=marketer
    )

    assert bad["extensions"] == {"code": "BAD_USER_INPUT", "field": "tags"}
    assert "'Not A Tag' is not a tag" in bad["message"]
    assert forbidden == "FORBIDDEN"
    assert unknown == "NOT_FOUND"


async def test_completions_per_period_restart_the_progress(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, key = await _setup(gql)
    alice = await f.customer(gql)
    await published_challenge(gql, marketer, TWO_PURCHASES, maxCompletionsPerPeriod=2)

    await _buy(gql, key, alice, "A-1", "A-2", "A-3")
    await process_all(settings, redis)
    [active] = (await gql(CHALLENGES, {"status": "ACTIVE"}, token=alice.token))["challenges"]
    assert active["steps"][0]["value"] == 1  # the second round has begun

    await _buy(gql, key, alice, "A-4", "A-5", "A-6")
    await process_all(settings, redis)

    assert await _bonus_entries(gql, alice) == [50, 50]
    assert (await gql(CHALLENGES, {"status": "ACTIVE"}, token=alice.token))["challenges"] == []
    [done] = (await gql(CHALLENGES, {"status": "COMPLETED"}, token=alice.token))["challenges"]
    assert done["completedAt"] is not None


async def _budgeted(
    gql: GraphQL, settings: Settings, redis: Redis, **budget: Any
) -> tuple[str, list[f.Customer]]:
    marketer, key = await _setup(gql)
    customers = [await f.customer(gql) for _ in range(3)]
    await published_challenge(gql, marketer, ONE_PURCHASE, **budget)
    for n, customer in enumerate(customers):
        await _buy(gql, key, customer, f"B-{n}")
    await process_all(settings, redis)
    return marketer, customers


async def test_a_completion_budget_is_never_overspent(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, customers = await _budgeted(gql, settings, redis, budgetCompletions=2)

    rewarded = [await _bonus_entries(gql, c) for c in customers]

    assert rewarded == [[50], [50], []]
    definitions = await gql(
        "{ challengeDefinitions { completionsCount pointsAwarded budgetSpent } }", token=marketer
    )
    assert definitions["challengeDefinitions"] == [
        {"completionsCount": 2, "pointsAwarded": 100, "budgetSpent": True}
    ]
    # Nothing left to win: the challenge is no longer offered, also to customers who never took part.
    late = await f.customer(gql)
    for customer in [customers[2], late]:
        assert (await gql(CHALLENGES, {"status": "ACTIVE"}, token=customer.token))["challenges"] == []


async def test_a_budget_with_room_left_is_still_offered(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, _ = await _budgeted(gql, settings, redis, budgetPoints=200)  # 3 x 50 spent

    definitions = await gql("{ challengeDefinitions { pointsAwarded budgetSpent } }", token=marketer)
    assert definitions["challengeDefinitions"] == [{"pointsAwarded": 150, "budgetSpent": False}]
    late = await f.customer(gql)
    [offered] = (await gql(CHALLENGES, {"status": "ACTIVE"}, token=late.token))["challenges"]
    assert offered["rewardPoints"] == 50


async def test_a_points_budget_is_never_overspent(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    _, customers = await _budgeted(gql, settings, redis, budgetPoints=120)

    rewarded = [await _bonus_entries(gql, c) for c in customers]

    assert rewarded == [[50], [50], []]
    # 100 of 120 spent: the next 50 would not fit.
    late = await f.customer(gql)
    assert (await gql(CHALLENGES, {"status": "ACTIVE"}, token=late.token))["challenges"] == []


async def test_limit_and_budget_inputs_are_validated(gql: GraphQL) -> None:
    marketer, _ = await _setup(gql)
    create = "mutation($input: ChallengeInput!) { createChallenge(input: $input) { id } }"
    for field, value in [("maxCompletionsPerPeriod", 0), ("budgetCompletions", 0), ("budgetPoints", -5)]:
        error = await gql.error(
            create, {"input": challenge_input(ONE_PURCHASE, **{field: value})}, token=marketer
        )
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, field
