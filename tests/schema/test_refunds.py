from __future__ import annotations

import asyncio
from typing import Any

from tests import factories as f
from tests.graphql import GraphQL


def refund(
    customer_id: str, order_id: str = "A-1", refund_id: str = "RF-1", amount_cents: int = 100
) -> dict[str, object]:
    return {
        "customerId": customer_id,
        "orderId": order_id,
        "refundId": refund_id,
        "amountCents": amount_cents,
    }


async def _me(gql: GraphQL, token: str) -> dict[str, Any]:
    return dict((await gql(f.ME, {"first": 100}, token=token))["me"])


async def _purchase(gql: GraphQL, key: str, customer_id: str, order_id: str, amount_cents: int) -> int:
    result = await gql(
        f.RECORD_PURCHASE, {"input": f.purchase(customer_id, order_id, amount_cents)}, api_key=key
    )
    return int(result["recordPurchase"]["pointsAwarded"])


async def test_partial_refund_reverses_points_in_proportion(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    assert await _purchase(gql, key, alice.id, "P-1", 1000) == 100

    result = await gql(f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", "RF-1", 250)}, api_key=key)

    assert result["refundPurchase"] == {"pointsReversed": 25, "balance": 75, "duplicate": False}
    me = await _me(gql, alice.token)
    assert me["points"]["balance"] == 75
    newest, oldest = (edge["node"] for edge in me["ledger"]["edges"])
    assert (newest["kind"], newest["delta"]) == ("REFUND", -25)
    assert newest["reason"] == "Refund RF-1 of purchase P-1"
    assert (oldest["kind"], oldest["delta"]) == ("EARN", 100)


async def test_partial_refunds_add_up_to_exactly_the_points_awarded(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    assert await _purchase(gql, key, alice.id, "P-1", 999) == 99

    reversed_ = []
    for n in range(3):
        result = await gql(f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", f"RF-{n}", 333)}, api_key=key)
        reversed_.append(result["refundPurchase"]["pointsReversed"])

    # Cumulative rounding: 99*333//999 = 33, 99*666//999 = 66, 99*999//999 = 99.
    assert reversed_ == [33, 33, 33]
    assert sum(reversed_) == 99
    me = await _me(gql, alice.token)
    assert me["points"]["balance"] == 0
    assert [e["node"]["delta"] for e in me["ledger"]["edges"]] == [-33, -33, -33, 99]


async def test_uneven_partial_refunds_never_take_more_than_awarded(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    assert await _purchase(gql, key, alice.id, "P-1", 1001) == 100

    amounts = [7, 7, 7, 980]  # every early refund rounds down to nothing or little; the last one settles it
    reversed_ = []
    for n, amount in enumerate(amounts):
        result = await gql(
            f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", f"RF-{n}", amount)}, api_key=key
        )
        reversed_.append(result["refundPurchase"]["pointsReversed"])

    # cumulative: 100*7//1001=0, 100*14//1001=1, 100*21//1001=2, 100*1001//1001=100
    assert reversed_ == [0, 1, 1, 98]
    assert (await _me(gql, alice.token))["points"]["balance"] == 0


async def test_refund_beyond_what_remains_is_refused_and_writes_nothing(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    await _purchase(gql, key, alice.id, "P-1", 1000)
    await gql(f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", "RF-1", 600)}, api_key=key)

    error = await gql.error(f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", "RF-2", 401)}, api_key=key)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "amountCents"
    me = await _me(gql, alice.token)
    assert me["points"]["balance"] == 40
    assert len(me["ledger"]["edges"]) == 2
    # Nothing was written: not even the refund id, which a valid refund can still use.
    result = await gql(f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", "RF-2", 400)}, api_key=key)
    assert result["refundPurchase"] == {"pointsReversed": 40, "balance": 0, "duplicate": False}


async def test_refund_larger_than_the_purchase_is_refused(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    await _purchase(gql, key, alice.id, "P-1", 1000)

    code = await gql.reason(f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", "RF-1", 1001)}, api_key=key)

    assert code == ("BAD_USER_INPUT", "REFUND_EXCEEDS_PURCHASE")
    me = await _me(gql, alice.token)
    assert me["points"]["balance"] == 100
    assert len(me["ledger"]["edges"]) == 1


async def test_replayed_refund_returns_the_first_result(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    await _purchase(gql, key, alice.id, "P-1", 1000)
    variables = {"input": refund(alice.id, "P-1", "RF-1", 300)}
    first = await gql(f.REFUND_PURCHASE, variables, api_key=key)
    await _purchase(gql, key, alice.id, "P-2", 500)  # the balance moves on after the first refund

    replay = await gql(f.REFUND_PURCHASE, variables, api_key=key)

    assert first["refundPurchase"] == {"pointsReversed": 30, "balance": 70, "duplicate": False}
    assert replay["refundPurchase"] == {"pointsReversed": 30, "balance": 70, "duplicate": True}
    me = await _me(gql, alice.token)
    assert me["points"]["balance"] == 120
    assert [e["node"]["delta"] for e in me["ledger"]["edges"]] == [50, -30, 100]


async def test_refund_id_reused_with_another_amount_is_a_conflict(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    await _purchase(gql, key, alice.id, "P-1", 1000)
    await gql(f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", "RF-1", 300)}, api_key=key)

    code = await gql.reason(f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", "RF-1", 200)}, api_key=key)

    assert code == ("CONFLICT", "IDEMPOTENCY_KEY_REUSED")
    me = await _me(gql, alice.token)
    assert me["points"]["balance"] == 70
    assert len(me["ledger"]["edges"]) == 2


async def test_refund_of_an_unknown_order_is_not_found(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    await _purchase(gql, key, alice.id, "P-1", 1000)

    code = await gql.reason(f.REFUND_PURCHASE, {"input": refund(alice.id, "NOPE", "RF-1", 100)}, api_key=key)

    assert code == ("NOT_FOUND", "UNKNOWN_PURCHASE")
    assert (await _me(gql, alice.token))["points"]["balance"] == 100


async def test_refund_of_another_sources_order_is_not_found(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    till, shop = await f.api_key("till"), await f.api_key("eshop")
    await f.earn_rule(points_per_unit=10)
    await _purchase(gql, till, alice.id, "P-1", 1000)

    code = await gql.code(f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", "RF-1", 100)}, api_key=shop)

    assert code == "NOT_FOUND"
    me = await _me(gql, alice.token)
    assert me["points"]["balance"] == 100
    assert len(me["ledger"]["edges"]) == 1


async def test_refund_of_another_customers_order_is_not_found(gql: GraphQL) -> None:
    alice, bob = await f.customer(gql), await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    await _purchase(gql, key, alice.id, "P-1", 1000)

    code = await gql.code(f.REFUND_PURCHASE, {"input": refund(bob.id, "P-1", "RF-1", 100)}, api_key=key)

    assert code == "NOT_FOUND"
    assert (await _me(gql, alice.token))["points"]["balance"] == 100
    assert (await _me(gql, bob.token))["ledger"]["edges"] == []


async def test_refund_needs_an_api_key(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    await _purchase(gql, key, alice.id, "P-1", 1000)
    variables = {"input": refund(alice.id, "P-1", "RF-1", 100)}

    assert await gql.code(f.REFUND_PURCHASE, variables) == "UNAUTHENTICATED"
    assert await gql.code(f.REFUND_PURCHASE, variables, token=alice.token) == "FORBIDDEN"
    assert (await _me(gql, alice.token))["points"]["balance"] == 100


async def test_concurrent_refunds_never_exceed_the_purchase(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    assert await _purchase(gql, key, alice.id, "P-1", 1000) == 100

    responses = await asyncio.gather(
        *(
            gql.raw(f.REFUND_PURCHASE, {"input": refund(alice.id, "P-1", f"RF-{n}", 100)}, api_key=key)
            for n in range(20)
        )
    )

    bodies = [r.json() for r in responses]
    accepted = [b["data"]["refundPurchase"] for b in bodies if not b.get("errors")]
    refused = [b["errors"][0]["extensions"]["code"] for b in bodies if b.get("errors")]
    assert len(accepted) == 10
    assert refused == ["BAD_USER_INPUT"] * 10
    assert [p["pointsReversed"] for p in accepted] == [10] * 10
    assert not any(p["duplicate"] for p in accepted)
    assert sorted(p["balance"] for p in accepted) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    me = await _me(gql, alice.token)
    assert me["points"]["balance"] == 0
    deltas = [e["node"]["delta"] for e in me["ledger"]["edges"]]
    assert deltas == [-10] * 10 + [100]
    # Replaying the ledger oldest first, the balance never dips below zero.
    running = 0
    for delta in reversed(deltas):
        running += delta
        assert running >= 0


async def test_fifty_concurrent_copies_of_one_refund_reverse_once(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    await _purchase(gql, key, alice.id, "P-1", 1000)
    variables = {"input": refund(alice.id, "P-1", "RF-BURST", 400)}

    results = await asyncio.gather(*(gql(f.REFUND_PURCHASE, variables, api_key=key) for _ in range(50)))

    payloads = [r["refundPurchase"] for r in results]
    assert sum(not p["duplicate"] for p in payloads) == 1
    assert {(p["pointsReversed"], p["balance"]) for p in payloads} == {(40, 60)}
    me = await _me(gql, alice.token)
    assert me["points"]["balance"] == 60
    assert [e["node"]["delta"] for e in me["ledger"]["edges"]] == [-40, 100]
