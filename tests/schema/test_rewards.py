"""The rewards catalogue over HTTP: redemptions that never oversell nor overdraw, coupons used once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from game.ledger.service import find_drift
from game.rewards.models import Redemption, Reward
from tests import factories as f
from tests.graphql import GraphQL

CREATE = """
mutation($input: RewardInput!) { createReward(input: $input) { id status redeemed } }
"""
PUBLISH = "mutation($id: ID!) { publishReward(id: $id) { id status } }"
ARCHIVE = "mutation($id: ID!) { archiveReward(id: $id) { id status } }"
REDEEM = """
mutation($id: ID!, $key: String!) {
  redeemReward(rewardId: $id, idempotencyKey: $key) { id points status couponCode receipt rewardName }
}
"""
CANCEL = "mutation($id: ID!) { cancelRedemption(id: $id) { id status cancelledAt } }"
VALIDATE = "mutation($code: String!) { validateCoupon(code: $code) { code status valid problem rewardName } }"
CONSUME = """
mutation($code: String!, $order: String) {
  consumeCoupon(code: $code, orderId: $order) { code status orderId }
}
"""
REWARDS = "{ rewards { id name costPoints stockLeft canRedeem blockedBy } }"
MINE = """
query($first: Int, $after: String) {
  myRedemptions(first: $first, after: $after) {
    edges { node { id status points } cursor } pageInfo { hasNextPage endCursor } }
}
"""
BALANCE = "{ me { points { balance } } }"


async def reward(gql: GraphQL, marketer: str, **overrides: Any) -> str:
    data = {"kind": "PRODUCT", "name": {"en": "Tote bag", "fr": "Sac"}, "costPoints": 100, **overrides}
    created = (await gql(CREATE, {"input": data}, token=marketer))["createReward"]
    assert created["status"] == "DRAFT"
    await gql(PUBLISH, {"id": created["id"]}, token=marketer)
    return str(created["id"])


async def funded(gql: GraphQL, till: str, points: int, **overrides: str) -> f.Customer:
    """A customer with `points` available (1 point per euro)."""
    customer = await f.customer(gql, **overrides)
    data = f.purchase(customer.id, f"fund-{customer.id}", points * 100)
    await gql(f.RECORD_PURCHASE, {"input": data}, api_key=till)
    return customer


async def balance(gql: GraphQL, customer: f.Customer) -> int:
    return int((await gql(BALANCE, token=customer.token))["me"]["points"]["balance"])


async def refusal(gql: GraphQL, query: str, variables: dict[str, Any], **auth: str) -> str:
    """The refusal's extensions.reason."""
    error = await gql.error(query, variables, **auth)
    return str(error["extensions"]["reason"])


async def setup(gql: GraphQL) -> tuple[str, str]:
    await f.earn_rule(points_per_unit=1)
    return await f.marketer_token(gql), await f.api_key("till-1", ["purchases"])


async def test_redeem_spends_points_issues_a_coupon_and_a_replay_answers_the_first(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer, stock=5, couponValidDays=30)
    alice = await funded(gql, till, 250)
    first = (await gql(REDEEM, {"id": rid, "key": "k1"}, token=alice.token))["redeemReward"]
    again = (await gql(REDEEM, {"id": rid, "key": "k1"}, token=alice.token))["redeemReward"]
    assert again == first
    assert first["points"] == 100
    assert first["status"] == "ACTIVE"
    code = first["couponCode"]
    assert len(code) == 12
    assert not set(code) & set("01OIL")
    assert await balance(gql, alice) == 150
    offers = (await gql(REWARDS, token=alice.token))["rewards"]
    assert offers == [
        {"id": rid, "name": "Sac", "costPoints": 100, "stockLeft": 4, "canRedeem": True, "blockedBy": None}
    ]
    assert await find_drift() == []


async def test_a_replay_with_another_reward_is_a_conflict(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    one, two = await reward(gql, marketer), await reward(gql, marketer)
    alice = await funded(gql, till, 500)
    await gql(REDEEM, {"id": one, "key": "k1"}, token=alice.token)
    assert await gql.code(REDEEM, {"id": two, "key": "k1"}, token=alice.token) == "CONFLICT"
    assert await balance(gql, alice) == 400


async def test_double_submission_of_one_key_at_once_redeems_once(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer)
    alice = await funded(gql, till, 1000)
    results = await asyncio.gather(
        *(gql(REDEEM, {"id": rid, "key": "same"}, token=alice.token) for _ in range(5))
    )
    assert len({r["redeemReward"]["id"] for r in results}) == 1
    assert await balance(gql, alice) == 900
    assert (await Reward.get(id=int(rid))).redeemed == 1


async def test_insufficient_points_refuse_and_change_nothing(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer, stock=1)
    bob = await funded(gql, till, 99)
    assert await refusal(gql, REDEEM, {"id": rid, "key": "k"}, token=bob.token) == "INSUFFICIENT_POINTS"
    assert await balance(gql, bob) == 99
    assert (await Reward.get(id=int(rid))).redeemed == 0
    offers = (await gql(REWARDS, token=bob.token))["rewards"]
    assert offers[0]["blockedBy"] == "INSUFFICIENT_POINTS"


async def test_not_available_and_not_eligible(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer)
    vip = await reward(gql, marketer, audienceTags=["vip"])
    alice = await funded(gql, till, 500)
    assert await refusal(gql, REDEEM, {"id": vip, "key": "a"}, token=alice.token) == "NOT_ELIGIBLE"
    await gql(ARCHIVE, {"id": rid}, token=marketer)
    assert await refusal(gql, REDEEM, {"id": rid, "key": "b"}, token=alice.token) == "NOT_AVAILABLE"
    assert (await gql(REWARDS, token=alice.token))["rewards"] == []
    assert await balance(gql, alice) == 500


async def test_per_customer_limit_holds_under_concurrency(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer, perCustomerLimit=2, costPoints=10)
    alice = await funded(gql, till, 1000)
    responses = await asyncio.gather(
        *(gql.raw(REDEEM, {"id": rid, "key": f"k{i}"}, token=alice.token) for i in range(8))
    )
    bodies = [r.json() for r in responses]
    ok = [b for b in bodies if "errors" not in b]
    refused = [b["errors"][0]["extensions"]["reason"] for b in bodies if "errors" in b]
    assert len(ok) == 2
    assert refused == ["LIMIT_REACHED"] * 6
    assert await balance(gql, alice) == 980


async def test_the_last_unit_goes_to_exactly_one_of_100_customers(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer, stock=1, costPoints=50)
    customers = [await funded(gql, till, 80) for _ in range(100)]
    responses = await asyncio.gather(
        *(gql.raw(REDEEM, {"id": rid, "key": "last"}, token=c.token) for c in customers)
    )
    bodies = [r.json() for r in responses]
    winners = [i for i, b in enumerate(bodies) if "errors" not in b]
    reasons = [b["errors"][0]["extensions"]["reason"] for b in bodies if "errors" in b]
    assert len(winners) == 1
    assert reasons == ["OUT_OF_STOCK"] * 99
    stored = await Reward.get(id=int(rid))
    assert (stored.stock, stored.redeemed) == (1, 1)
    balances = [await balance(gql, c) for c in customers]
    assert sorted(balances) == [30] + [80] * 99
    assert balances[winners[0]] == 30
    assert await Redemption.all().count() == 1
    assert await find_drift() == []


async def test_cancellation_gives_points_and_stock_back_once(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer, stock=1)
    alice = await funded(gql, till, 100)
    redemption = (await gql(REDEEM, {"id": rid, "key": "k"}, token=alice.token))["redeemReward"]
    assert await balance(gql, alice) == 0
    results = await asyncio.gather(
        *(gql(CANCEL, {"id": redemption["id"]}, token=alice.token) for _ in range(3))
    )
    assert {r["cancelRedemption"]["status"] for r in results} == {"CANCELLED"}
    assert await balance(gql, alice) == 100
    assert (await Reward.get(id=int(rid))).redeemed == 0
    till2 = await f.api_key("till-2", ["rewards"])
    coupon = (await gql(VALIDATE, {"code": redemption["couponCode"]}, api_key=till2))["validateCoupon"]
    assert (coupon["valid"], coupon["problem"]) == (False, "CANCELLED")
    assert await refusal(gql, CONSUME, {"code": redemption["couponCode"]}, api_key=till2) == "CANCELLED"
    # the unit is back on offer
    await gql(REDEEM, {"id": rid, "key": "k2"}, token=alice.token)
    assert await find_drift() == []


async def test_an_idempotency_key_shaped_like_a_cancellation_does_not_block_one(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer, costPoints=10)
    alice = await funded(gql, till, 100)
    first = (await gql(REDEEM, {"id": rid, "key": "k"}, token=alice.token))["redeemReward"]
    # The engine records a cancellation as an event keyed `cancel:<redemption id>`: a customer's own key
    # made the same (the id of their next redemption) lives under another source.
    next_id = int(first["id"]) + 2
    await gql(REDEEM, {"id": rid, "key": f"cancel:{next_id}"}, token=alice.token)
    target = (await gql(REDEEM, {"id": rid, "key": "k3"}, token=alice.token))["redeemReward"]
    assert int(target["id"]) == next_id

    cancelled = await gql(CANCEL, {"id": target["id"]}, token=alice.token)

    assert cancelled["cancelRedemption"]["status"] == "CANCELLED"
    assert await balance(gql, alice) == 100 - 20
    assert await find_drift() == []


async def test_a_coupon_is_used_once_under_two_tills_and_then_cannot_be_cancelled(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer)
    alice = await funded(gql, till, 100)
    redemption = (await gql(REDEEM, {"id": rid, "key": "k"}, token=alice.token))["redeemReward"]
    one, two = await f.api_key("shop-a", ["rewards"]), await f.api_key("shop-b", ["rewards"])
    code = redemption["couponCode"]
    shown = f"{code[:4]}-{code[4:8]}-{code[8:]}".lower()
    valid = (await gql(VALIDATE, {"code": shown}, api_key=one))["validateCoupon"]
    assert (valid["valid"], valid["rewardName"], valid["status"]) == (True, "Tote bag", "ACTIVE")
    responses = await asyncio.gather(
        gql.raw(CONSUME, {"code": code, "order": "A"}, api_key=one),
        gql.raw(CONSUME, {"code": code, "order": "B"}, api_key=two),
    )
    bodies = [r.json() for r in responses]
    assert sum("errors" not in b for b in bodies) == 1
    assert [b["errors"][0]["extensions"]["reason"] for b in bodies if "errors" in b] == ["COUPON_USED"]
    assert await refusal(gql, CANCEL, {"id": redemption["id"]}, token=alice.token) == "COUPON_USED"
    assert await balance(gql, alice) == 0


async def test_coupons_need_the_rewards_scope(gql: GraphQL) -> None:
    _, till = await setup(gql)
    assert await gql.code(VALIDATE, {"code": "ABCDEFGHJKMN"}, api_key=till) == "FORBIDDEN"
    rewards_till = await f.api_key("till-r", ["rewards"])
    assert await gql.code(VALIDATE, {"code": "ABCDEFGHJKMN"}, api_key=rewards_till) == "NOT_FOUND"


async def test_donations_issue_a_receipt_and_redemptions_page(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer, kind="DONATION", costPoints=10)
    alice = await funded(gql, till, 100)
    made = [
        (await gql(REDEEM, {"id": rid, "key": f"d{i}"}, token=alice.token))["redeemReward"] for i in range(3)
    ]
    assert all(r["couponCode"] is None and r["receipt"].startswith("DON-") for r in made)
    page = (await gql(MINE, {"first": 2}, token=alice.token))["myRedemptions"]
    assert [e["node"]["id"] for e in page["edges"]] == [made[2]["id"], made[1]["id"]]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await gql(MINE, {"first": 2, "after": page["pageInfo"]["endCursor"]}, token=alice.token)
    assert [e["node"]["id"] for e in rest["myRedemptions"]["edges"]] == [made[0]["id"]]


UPDATE = """
mutation($id: ID!, $input: RewardInput!) { updateReward(id: $id, input: $input) { id costPoints stock } }
"""
DEFINITIONS = "query($s: RewardStatus) { rewardDefinitions(status: $s) { id status redeemed } }"


async def test_marketers_update_and_list_rewards_and_bad_input_names_its_field(gql: GraphQL) -> None:
    marketer, _ = await setup(gql)
    rid = await reward(gql, marketer)
    data = {"kind": "PRODUCT", "name": {"en": "Mug"}, "costPoints": 250, "stock": 3}
    updated = (await gql(UPDATE, {"id": rid, "input": data}, token=marketer))["updateReward"]
    assert (updated["costPoints"], updated["stock"]) == (250, 3)
    bad = await gql.error(UPDATE, {"id": rid, "input": {**data, "costPoints": 0}}, token=marketer)
    assert (bad["extensions"]["code"], bad["extensions"]["field"]) == ("BAD_USER_INPUT", "costPoints")
    assert (await gql(DEFINITIONS, {"s": "LIVE"}, token=marketer))["rewardDefinitions"] == [
        {"id": rid, "status": "LIVE", "redeemed": 0}
    ]
    await gql(ARCHIVE, {"id": rid}, token=marketer)
    assert (await gql(DEFINITIONS, {"s": "LIVE"}, token=marketer))["rewardDefinitions"] == []
    assert await gql.code(UPDATE, {"id": rid, "input": data}, token=marketer) == "CONFLICT"
    customer = await f.customer(gql)
    assert await gql.code(DEFINITIONS, {"s": None}, token=customer.token) == "FORBIDDEN"


async def test_expired_coupons_and_closed_cancel_windows_are_refused(gql: GraphQL) -> None:
    marketer, till = await setup(gql)
    rid = await reward(gql, marketer, cancelWindowHours=0, couponValidDays=1)
    alice = await funded(gql, till, 100)
    redemption = (await gql(REDEEM, {"id": rid, "key": "k"}, token=alice.token))["redeemReward"]
    assert await refusal(gql, CANCEL, {"id": redemption["id"]}, token=alice.token) == "CANCEL_WINDOW_OVER"
    await Redemption.filter(id=int(redemption["id"])).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    shop = await f.api_key("shop", ["rewards"])
    coupon = (await gql(VALIDATE, {"code": redemption["couponCode"]}, api_key=shop))["validateCoupon"]
    assert (coupon["valid"], coupon["problem"]) == (False, "COUPON_EXPIRED")
    assert await refusal(gql, CONSUME, {"code": redemption["couponCode"]}, api_key=shop) == "COUPON_EXPIRED"
    assert await balance(gql, alice) == 0
