from __future__ import annotations

from redis.asyncio import Redis

from app.settings import Settings
from tests import factories as f
from tests.challenge_helpers import CHALLENGES, process_all, published_challenge
from tests.graphql import GraphQL

THREE_COFFEES = {
    "steps": [
        {
            "event": "purchase",
            "filters": [{"field": "category", "op": "contains", "value": "coffee"}],
            "aggregate": "count",
            "target": 3,
        }
    ]
}


def coffee(customer_id: str, order_id: str) -> dict[str, object]:
    items = [{"sku": "ESPRESSO", "category": "coffee", "quantity": 1, "unitPriceCents": 250}]
    return f.purchase(customer_id, order_id, 250, items=items)


async def test_three_coffees_complete_the_challenge_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer = await f.marketer_token(gql)
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    await published_challenge(gql, marketer, THREE_COFFEES)

    for n in range(2):
        await gql(f.RECORD_PURCHASE, {"input": coffee(alice.id, f"C-{n}")}, api_key=key)
    await process_all(settings, redis)
    [active] = (await gql(CHALLENGES, {"status": "ACTIVE"}, token=alice.token))["challenges"]
    assert active["steps"] == [{"event": "purchase", "aggregate": "count", "target": 3, "value": 2}]
    assert active["title"] == "Habitué"  # alice's locale is fr

    await gql(f.RECORD_PURCHASE, {"input": coffee(alice.id, "C-2")}, api_key=key)
    await gql(f.RECORD_PURCHASE, {"input": coffee(alice.id, "C-3")}, api_key=key)
    assert await process_all(settings, redis) == ["processed", "processed"]

    assert (await gql(CHALLENGES, {"status": "ACTIVE"}, token=alice.token))["challenges"] == []
    [done] = (await gql(CHALLENGES, {"status": "COMPLETED"}, token=alice.token))["challenges"]
    assert done["steps"][0]["value"] == 3
    me = (await gql(f.ME, token=alice.token))["me"]
    assert me["points"]["balance"] == 4 * 25 + 50
    assert [e["node"]["reason"] for e in me["ledger"]["edges"]].count("Challenge completed: Regular") == 1
