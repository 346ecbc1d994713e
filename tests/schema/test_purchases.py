from __future__ import annotations

import asyncio

from tests import factories as f
from tests.graphql import GraphQL


async def test_purchase_earns_points_and_shows_in_me(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)

    result = await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, amount_cents=1250)}, api_key=key)

    assert result["recordPurchase"] == {"pointsAwarded": 125, "balance": 125, "duplicate": False}
    me = (await gql(f.ME, token=alice.token))["me"]
    assert me["points"]["balance"] == 125
    [edge] = me["ledger"]["edges"]
    assert edge["node"]["delta"] == 125
    assert edge["node"]["kind"] == "EARN"
    assert edge["node"]["reason"] == "Purchase A-1"


async def test_category_multipliers_weigh_the_items(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10, beans=200)
    items = [
        {"sku": "BEANS", "category": "beans", "quantity": 1, "unitPriceCents": 1000},
        {"sku": "CAKE", "category": "pastry", "quantity": 2, "unitPriceCents": 250},
    ]

    result = await gql(
        f.RECORD_PURCHASE, {"input": f.purchase(alice.id, amount_cents=1500, items=items)}, api_key=key
    )

    # 10.00 of beans at double rate (200) + 5.00 of pastry at base rate (50) = 250
    assert result["recordPurchase"]["pointsAwarded"] == 250


async def test_replay_returns_the_first_result(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule()
    first = await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "R-1", 1000)}, api_key=key)
    await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "R-2", 500)}, api_key=key)

    replay = await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "R-1", 1000)}, api_key=key)

    assert replay["recordPurchase"] == {**first["recordPurchase"], "duplicate": True}
    me = (await gql(f.ME, token=alice.token))["me"]
    assert me["points"]["balance"] == 150
    assert len(me["ledger"]["edges"]) == 2


async def test_hundred_concurrent_copies_award_once(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule()
    variables = {"input": f.purchase(alice.id, "BURST-1", 2000)}

    results = await asyncio.gather(*(gql(f.RECORD_PURCHASE, variables, api_key=key) for _ in range(100)))

    payloads = [r["recordPurchase"] for r in results]
    assert sum(not p["duplicate"] for p in payloads) == 1
    assert {(p["pointsAwarded"], p["balance"]) for p in payloads} == {(200, 200)}
    me = (await gql(f.ME, token=alice.token))["me"]
    assert me["points"]["balance"] == 200
    assert len(me["ledger"]["edges"]) == 1


async def test_same_order_id_from_another_source_is_another_purchase(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    till, shop = await f.api_key("till"), await f.api_key("eshop")
    await f.earn_rule()

    await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "1001", 1000)}, api_key=till)
    second = await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "1001", 1000)}, api_key=shop)

    assert second["recordPurchase"] == {"pointsAwarded": 100, "balance": 200, "duplicate": False}


async def test_reused_order_id_with_other_content_is_a_conflict(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule()
    await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "C-1", 1000)}, api_key=key)

    code = await gql.code(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "C-1", 9999)}, api_key=key)

    assert code == "CONFLICT"
    me = (await gql(f.ME, token=alice.token))["me"]
    assert me["points"]["balance"] == 100
