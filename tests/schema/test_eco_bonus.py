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


# --- earning it -------------------------------------------------------------------------------------

RECORD_PURCHASE = """
mutation($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) { pointsAwarded ecoBonus balance duplicate }
}
"""
LEDGER = "query { me { points { balance } ledger(first: 100) { edges { node { delta kind reason } } } } }"


def _item(sku: str, price: int, *, eco: bool = False, category: str | None = None) -> dict[str, Any]:
    return {"sku": sku, "category": category, "quantity": 1, "unitPriceCents": price, "eco": eco}


async def _buy(
    gql: GraphQL, key: str, customer_id: str, order_id: str, amount_cents: int, items: list[dict[str, Any]]
) -> dict[str, Any]:
    variables = {"input": f.purchase(customer_id, order_id, amount_cents, items=items)}
    return dict((await gql(RECORD_PURCHASE, variables, api_key=key))["recordPurchase"])


async def _ledger(gql: GraphQL, customer: f.Customer) -> tuple[int, list[tuple[str, int, str]]]:
    """The balance and the entries, newest first, as (kind, delta, reason)."""
    me = (await gql(LEDGER, token=customer.token))["me"]
    entries = [(e["node"]["kind"], e["node"]["delta"], e["node"]["reason"]) for e in me["ledger"]["edges"]]
    return me["points"]["balance"], entries


async def test_eco_items_earn_the_bonus_in_an_entry_of_its_own(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10, eco_bonus_pct=50)
    items = [_item("CUP-REFILL", 400, eco=True), _item("CAKE", 600)]

    result = await _buy(gql, key, alice.id, "E-1", 1000, items)

    # 10.00 at the base rate = 100; the 4.00 refill adds 50% of its base rate = 20
    assert result == {"pointsAwarded": 120, "ecoBonus": 20, "balance": 120, "duplicate": False}
    assert await _ledger(gql, alice) == (
        120,
        [("BONUS", 20, "Eco bonus, purchase E-1"), ("EARN", 100, "Purchase E-1")],
    )


async def test_without_an_eco_bonus_eco_items_earn_the_base_rate_and_one_entry(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)

    result = await _buy(gql, key, alice.id, "E-1", 1000, [_item("CUP-REFILL", 1000, eco=True)])

    assert result == {"pointsAwarded": 100, "ecoBonus": 0, "balance": 100, "duplicate": False}
    assert await _ledger(gql, alice) == (100, [("EARN", 100, "Purchase E-1")])


async def test_eco_bonus_adds_to_the_category_multiplier(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10, eco_bonus_pct=50, beans=200)
    items = [
        _item("BEANS-BULK", 1000, eco=True, category="beans"),
        _item("BEANS-250G", 500, category="beans"),
        _item("CUP-REFILL", 200, eco=True),
    ]

    result = await _buy(gql, key, alice.id, "E-1", 1700, items)

    # base: 10.00*200% + 5.00*200% + 2.00*100% = 32.00 -> 320
    # eco, additive: 10.00*50% + 2.00*50% = 6.00 -> 60 (multiplied, 200%*1.5 would make the beans 100)
    assert result == {"pointsAwarded": 380, "ecoBonus": 60, "balance": 380, "duplicate": False}


async def test_a_discount_shrinks_the_eco_bonus_in_proportion(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10, eco_bonus_pct=100)
    items = [_item("TOTE-BAG", 1000, eco=True), _item("MUG", 1000)]

    # 20.00 listed, 15.00 paid: every weight counts for three quarters
    result = await _buy(gql, key, alice.id, "E-1", 1500, items)

    # base: 20.00*100% * 3/4 = 150; eco: 10.00*100% * 3/4 = 75
    assert result == {"pointsAwarded": 225, "ecoBonus": 75, "balance": 225, "duplicate": False}


async def test_the_total_is_rounded_down_once(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=1, eco_bonus_pct=100)

    result = await _buy(gql, key, alice.id, "E-1", 160, [_item("CUP-REFILL", 160, eco=True)])

    # base 1.60 -> 1; with the bonus 3.20 -> 3, so the bonus is 2 (rounding each part down would give 1 + 1)
    assert result == {"pointsAwarded": 3, "ecoBonus": 2, "balance": 3, "duplicate": False}
    assert await _ledger(gql, alice) == (
        3,
        [("BONUS", 2, "Eco bonus, purchase E-1"), ("EARN", 1, "Purchase E-1")],
    )


async def test_replay_returns_the_first_result_with_its_eco_bonus(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10, eco_bonus_pct=50)
    items = [_item("CUP-REFILL", 400, eco=True), _item("CAKE", 600)]
    first = await _buy(gql, key, alice.id, "E-1", 1000, items)
    await _buy(gql, key, alice.id, "E-2", 500, [])  # the balance moves on
    await f.earn_rule(points_per_unit=10, eco_bonus_pct=500)  # and so does the rule

    replay = await _buy(gql, key, alice.id, "E-1", 1000, items)

    assert replay == {**first, "duplicate": True}
    assert replay == {"pointsAwarded": 120, "ecoBonus": 20, "balance": 120, "duplicate": True}
    balance, entries = await _ledger(gql, alice)
    assert (balance, len(entries)) == (170, 3)


async def test_an_item_flagged_eco_only_after_the_fact_is_a_conflict(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10, eco_bonus_pct=50)
    await _buy(gql, key, alice.id, "E-1", 1000, [_item("CUP-REFILL", 1000)])

    variables = {"input": f.purchase(alice.id, "E-1", 1000, items=[_item("CUP-REFILL", 1000, eco=True)])}
    code = await gql.code(RECORD_PURCHASE, variables, api_key=key)

    assert code == "CONFLICT"
    assert await _ledger(gql, alice) == (100, [("EARN", 100, "Purchase E-1")])


# --- refunding it -----------------------------------------------------------------------------------


def _refund(customer_id: str, refund_id: str, amount_cents: int) -> dict[str, Any]:
    return {
        "input": {
            "customerId": customer_id,
            "orderId": "E-1",
            "refundId": refund_id,
            "amountCents": amount_cents,
        }
    }


async def test_refunds_take_back_the_eco_bonus_in_proportion_and_never_more(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10, eco_bonus_pct=50)
    # base 9.99 -> 99; with the bonus 14.985 -> 149, so 50 of them are the bonus
    bought = await _buy(gql, key, alice.id, "E-1", 999, [_item("CUP-REFILL", 999, eco=True)])
    assert (bought["pointsAwarded"], bought["ecoBonus"]) == (149, 50)
    # A richer rule after the purchase must not change what its refunds take back.
    await f.earn_rule(points_per_unit=10, eco_bonus_pct=1000)

    reversed_ = []
    for n in range(3):
        result = await gql(f.REFUND_PURCHASE, _refund(alice.id, f"RF-{n}", 333), api_key=key)
        reversed_.append(result["refundPurchase"]["pointsReversed"])

    # Cumulative rounding: 149*333//999 = 49, 149*666//999 = 99, 149*999//999 = 149.
    assert reversed_ == [49, 50, 50]
    balance, entries = await _ledger(gql, alice)
    assert balance == 0
    assert [(kind, delta) for kind, delta, _ in entries] == [
        ("REFUND", -50),
        ("REFUND", -50),
        ("REFUND", -49),
        ("BONUS", 50),
        ("EARN", 99),
    ]
    # Everything paid is refunded: one more cent is refused and writes nothing.
    error = await gql.error(f.REFUND_PURCHASE, _refund(alice.id, "RF-3", 1), api_key=key)
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "amountCents",
        "reason": "REFUND_EXCEEDS_PURCHASE",
    }
    assert await _ledger(gql, alice) == (balance, entries)


async def test_an_order_whose_award_key_fits_earns_its_eco_bonus_too(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    key = await f.api_key("s" * 80)  # the longest source
    await f.earn_rule(points_per_unit=10, eco_bonus_pct=50)
    order_id = "O" * 110  # the longest order id: "purchase:" + source + ":" + it make the 200 of an award key

    result = await _buy(gql, key, alice.id, order_id, 1000, [_item("CUP-REFILL", 1000, eco=True)])

    assert result == {"pointsAwarded": 150, "ecoBonus": 50, "balance": 150, "duplicate": False}
