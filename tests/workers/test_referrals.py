"""Referral chains end to end: codes at sign-up, the worker qualifying a referee's purchase and paying up the
chain through the award path, fraud holds reviewed by a marketer, and clawback on refund."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from app.settings import Settings
from game.events.models import Event
from tests import factories as f
from tests.challenge_helpers import process_all
from tests.graphql import GraphQL
from tests.referral_helpers import (
    APPROVE,
    CHAIN,
    HELD,
    LEVEL_POINTS,
    MINIMUM,
    MY_REFERRALS,
    REFEREE_POINTS,
    REJECT,
    TOP,
    balance,
    buy_and_process,
    chain_of,
    configure,
    order_id,
    process_until_idle,
    referred,
)
from tests.workers.test_challenge_evaluation import challenge, count_step, rule, task_ctx
from workers.tasks import process_event

BUY = 2500  # 25 points at 1 point per euro


async def programme(gql: GraphQL, **overrides: Any) -> tuple[str, str]:
    marketer = await f.marketer_token(gql)
    await f.earn_rule(points_per_unit=1)
    await configure(gql, marketer, **overrides)
    return marketer, await f.api_key()


async def refund(
    gql: GraphQL, key: str, customer: f.Customer, order: int, cents: int, refund_id: str
) -> None:
    data = {
        "customerId": customer.id,
        "orderId": order_id(customer, order),
        "refundId": refund_id,
        "amountCents": cents,
    }
    await gql(f.REFUND_PURCHASE, {"input": data}, api_key=key)


async def test_a_four_level_chain_pays_each_level_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    _, key = await programme(gql)
    a, b, c, d, e = await chain_of(gql, 5)

    await buy_and_process(gql, key, e, settings, redis, BUY)

    assert await balance(gql, e) == 25 + REFEREE_POINTS
    assert [await balance(gql, x) for x in (d, c, b, a)] == [LEVEL_POINTS[n] for n in (1, 2, 3, 4)]
    chain = (await gql(CHAIN, token=e.token))["referralChain"]
    assert [link["level"] for link in chain] == [1, 2, 3, 4]
    mine = (await gql(MY_REFERRALS, token=d.token))["myReferrals"]
    assert mine["pointsEarned"] == LEVEL_POINTS[1]
    assert mine["levels"][0] == {"level": 1, "pending": 0, "qualified": 1, "held": 0}
    assert mine["referees"][0]["status"] == "QUALIFIED"
    top = (await gql(MY_REFERRALS, token=a.token))["myReferrals"]
    assert [lv["pending"] + lv["qualified"] for lv in top["levels"]] == [1, 1, 1, 1]
    assert top["levels"][3]["qualified"] == 1

    # A replay of the event, and a second qualifying purchase, pay nothing more.
    ids = await Event.filter(type="purchase").values_list("id", flat=True)
    ctx = task_ctx(settings, redis)
    assert [await process_event(ctx, i) for i in ids] == ["already_processed"]
    await buy_and_process(gql, key, e, settings, redis, BUY)
    assert await balance(gql, e) == 50 + REFEREE_POINTS
    assert [await balance(gql, x) for x in (d, c, b, a)] == [LEVEL_POINTS[n] for n in (1, 2, 3, 4)]
    # The direct referrer got one referral_qualified event, processed.
    qualified = await Event.filter(type="referral_qualified").values_list("customer_id", "processed_at")
    assert [(str(who), done is not None) for who, done in qualified] == [(d.id, True)]


async def test_the_depth_limit_pays_only_configured_levels(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, key = await programme(gql, levels=[{"level": 1, "points": 100}, {"level": 2, "points": 40}])
    a, b, c, d = await chain_of(gql, 4)

    await buy_and_process(gql, key, d, settings, redis, BUY)

    assert [await balance(gql, x) for x in (c, b, a)] == [100, 40, 0]
    deep = [{"level": lv, "points": 1} for lv in (1, 6)]
    error = await gql.error(
        "mutation($i: ReferralSettingsInput!) { configureReferrals(input: $i) { active } }",
        {"i": {"minPurchaseCents": 0, "refereePoints": 0, "levels": deep}},
        token=marketer,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_purchase_below_the_minimum_does_not_qualify(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    _, key = await programme(gql)
    a, b = await chain_of(gql, 2)

    await buy_and_process(gql, key, b, settings, redis, MINIMUM - 1)
    assert await balance(gql, a) == 0
    await buy_and_process(gql, key, b, settings, redis, MINIMUM)
    assert await balance(gql, a) == LEVEL_POINTS[1]


async def held(gql: GraphQL, marketer: str) -> list[dict[str, Any]]:
    return list((await gql(HELD, {"first": 50}, token=marketer))["heldReferralRewards"]["items"])


@pytest.mark.parametrize(
    ("rule_name", "referrer_extra", "referee_extra"),
    [
        ("SAME_EMAIL", {"email": "john.doe+shop@gmail.com"}, {"email": "johndoe@googlemail.com"}),
        ("SAME_DEVICE", {"deviceId": "device-42"}, {"deviceId": "device-42"}),
    ],
)
async def test_one_person_behind_two_accounts_is_held_then_approved_once(
    gql: GraphQL,
    settings: Settings,
    redis: Redis,
    rule_name: str,
    referrer_extra: dict[str, str],
    referee_extra: dict[str, str],
) -> None:
    marketer, key = await programme(gql)
    referrer = await f.customer(gql, **referrer_extra)
    referee = await referred(gql, referrer, **referee_extra)

    await buy_and_process(gql, key, referee, settings, redis, BUY)

    assert await balance(gql, referrer) == 0
    assert await balance(gql, referee) == 25
    [hold] = await held(gql, marketer)
    assert [s["rule"] for s in hold["signals"]] == [rule_name]
    assert hold["refereeId"] == referee.id
    assert (await gql(MY_REFERRALS, token=referrer.token))["myReferrals"]["levels"][0]["held"] == 1

    approved = await gql(APPROVE, {"id": hold["id"]}, token=marketer)
    assert approved["approveReferralReward"]["status"] == "APPROVED"
    error = await gql.error(APPROVE, {"id": hold["id"]}, token=marketer)
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["reason"] == "ALREADY_DECIDED"
    assert await balance(gql, referrer) == LEVEL_POINTS[1]
    assert await balance(gql, referee) == 25 + REFEREE_POINTS
    assert await held(gql, marketer) == []
    await process_until_idle(settings, redis)
    assert await Event.filter(type="referral_qualified", processed_at__not_isnull=True).count() == 1


async def test_a_shared_payment_fingerprint_is_held_and_a_rejection_pays_nothing(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, key = await programme(gql)
    referrer = await f.customer(gql)
    referee = await referred(gql, referrer)
    await buy_and_process(gql, key, referrer, settings, redis, 500, paymentFingerprint="card-1234")

    await buy_and_process(gql, key, referee, settings, redis, BUY, paymentFingerprint="card-1234")

    [hold] = await held(gql, marketer)
    assert [s["rule"] for s in hold["signals"]] == ["SAME_PAYMENT"]
    rejected = await gql(REJECT, {"id": hold["id"], "r": "same card"}, token=marketer)
    assert rejected["rejectReferralReward"] == {
        "id": hold["id"],
        "status": "REJECTED",
        "decisionNote": "same card",
    }
    error = await gql.error(APPROVE, {"id": hold["id"]}, token=marketer)
    assert error["extensions"]["code"] == "CONFLICT"
    assert await balance(gql, referrer) == 5
    assert await balance(gql, referee) == 25
    # Rejection is final for this referee: a later purchase does not qualify again.
    await buy_and_process(gql, key, referee, settings, redis, BUY, paymentFingerprint="card-9")
    assert await balance(gql, referrer) == 5
    referees = (await gql(MY_REFERRALS, token=referrer.token))["myReferrals"]["referees"]
    assert [r["status"] for r in referees] == ["REJECTED"]


async def test_velocity_holds_a_referrer_signing_up_too_many_too_fast(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, key = await programme(gql, velocityLimit=2)
    referrer = await f.customer(gql)
    first, second = await referred(gql, referrer), await referred(gql, referrer)
    await buy_and_process(gql, key, first, settings, redis, BUY)
    assert await balance(gql, referrer) == LEVEL_POINTS[1]

    third = await referred(gql, referrer)
    await buy_and_process(gql, key, second, settings, redis, BUY)

    assert await balance(gql, referrer) == LEVEL_POINTS[1]
    [hold] = await held(gql, marketer)
    assert [s["rule"] for s in hold["signals"]] == ["VELOCITY"]
    assert hold["refereeId"] == second.id
    assert third.id != second.id


async def test_the_monthly_cap_holds_rewards_beyond_it(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, key = await programme(gql, monthlyCapPerReferrer=2)
    referrer = await f.customer(gql)
    friends = [await referred(gql, referrer) for _ in range(3)]

    for friend in friends:
        await buy_and_process(gql, key, friend, settings, redis, BUY)

    assert await balance(gql, referrer) == 2 * LEVEL_POINTS[1]
    [hold] = await held(gql, marketer)
    assert [s["rule"] for s in hold["signals"]] == ["MONTHLY_CAP"]
    assert hold["refereeId"] == friends[2].id
    await gql(APPROVE, {"id": hold["id"]}, token=marketer)
    assert await balance(gql, referrer) == 3 * LEVEL_POINTS[1]
    [top] = (await gql(TOP, {"first": 5}, token=marketer))["topReferrers"]
    assert top == {"customerId": referrer.id, "referrals": 3, "qualifiedReferrals": 3, "conversionRate": 1.0}


async def test_a_refund_claws_back_the_chain_and_a_later_purchase_qualifies_again(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    _, key = await programme(gql)
    a, b, c = await chain_of(gql, 3)
    await buy_and_process(gql, key, c, settings, redis, BUY)
    assert [await balance(gql, x) for x in (c, b, a)] == [25 + REFEREE_POINTS, 100, 40]

    # A partial refund that leaves the purchase above the minimum takes back nothing of the referral.
    await refund(gql, key, c, 1, 400, "r-1")
    await process_until_idle(settings, redis)
    assert [await balance(gql, x) for x in (b, a)] == [100, 40]

    # One that takes it below the minimum reverses every referral reward it paid, once.
    await refund(gql, key, c, 1, 200, "r-2")
    await process_until_idle(settings, redis)
    assert [await balance(gql, x) for x in (b, a)] == [0, 0]
    assert await balance(gql, c) == 19
    mine = (await gql(MY_REFERRALS, token=b.token))["myReferrals"]
    assert mine["referees"][0]["status"] == "PENDING"
    assert mine["pointsEarned"] == 0
    await refund(gql, key, c, 1, 1900, "r-3")
    await process_until_idle(settings, redis)
    assert [await balance(gql, x) for x in (b, a)] == [0, 0]

    await buy_and_process(gql, key, c, settings, redis, BUY)
    assert [await balance(gql, x) for x in (c, b, a)] == [25 + REFEREE_POINTS, 100, 40]
    assert (await gql(MY_REFERRALS, token=b.token))["myReferrals"]["pointsEarned"] == 100


async def test_a_refund_before_review_voids_the_hold(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, key = await programme(gql)
    referrer = await f.customer(gql, deviceId="d-1")
    referee = await referred(gql, referrer, deviceId="d-1")
    await buy_and_process(gql, key, referee, settings, redis, BUY)
    [hold] = await held(gql, marketer)

    await refund(gql, key, referee, 1, BUY, "r-1")
    await process_until_idle(settings, redis)

    assert await held(gql, marketer) == []
    assert (await gql.error(APPROVE, {"id": hold["id"]}, token=marketer))["extensions"]["code"] == "CONFLICT"
    assert await balance(gql, referrer) == 0


async def test_two_referees_of_one_referrer_qualifying_at_once_pay_each_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    _, key = await programme(gql, monthlyCapPerReferrer=3)
    a, b = await chain_of(gql, 2)
    friends = [await referred(gql, b) for _ in range(4)]
    # b qualifies too, at the same time as its referees: workers lock balances from a referee up its chain.
    for buyer in [*friends, b]:
        data = f.purchase(buyer.id, order_id(buyer, 1), BUY)
        await gql(f.RECORD_PURCHASE, {"input": data}, api_key=key)
    ids = list(await Event.filter(type="purchase").values_list("id", flat=True))
    ctx = task_ctx(settings, redis)

    outcomes = await asyncio.gather(*(process_event(ctx, i) for i in ids))

    assert outcomes == ["processed"] * 5
    # Three paid, the fourth held by the cap: the count and the payments did not race.
    assert await balance(gql, b) == 25 + REFEREE_POINTS + 3 * LEVEL_POINTS[1]
    assert await balance(gql, a) == LEVEL_POINTS[1] + 3 * LEVEL_POINTS[2]
    assert [await balance(gql, x) for x in friends].count(25 + REFEREE_POINTS) == 3
    again = await asyncio.gather(*(process_event(ctx, i) for i in ids))
    assert again == ["already_processed"] * 5


async def refer_three_friends(gql: GraphQL) -> tuple[str, f.Customer, list[f.Customer]]:
    """A "refer 3 friends" challenge paying 500, an ambassador and three friends they referred: (till key,
    ambassador, friends)."""
    marketer, key = await programme(gql)
    # verified_only: the platform records referral_qualified, so a customer cannot claim it with trackEvent.
    three = rule(count_step("referral_qualified", 3)) | {"verified_only": True}
    await challenge(gql, marketer, three, rewardPoints=500)
    ambassador = await f.customer(gql)
    return key, ambassador, [await referred(gql, ambassador) for _ in range(3)]


async def test_a_refer_three_friends_challenge_completes(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    key, ambassador, friends = await refer_three_friends(gql)

    for n, friend in enumerate(friends):
        await buy_and_process(gql, key, friend, settings, redis, BUY)
        expected = (n + 1) * LEVEL_POINTS[1] + (500 if n == 2 else 0)
        assert await balance(gql, ambassador) == expected
    assert await process_all(settings, redis) == []


async def test_a_friend_whose_purchase_is_refunded_no_longer_counts_towards_refer_three_friends(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    key, ambassador, friends = await refer_three_friends(gql)
    for friend in friends:
        await buy_and_process(gql, key, friend, settings, redis, BUY)
    assert await balance(gql, ambassador) == 3 * LEVEL_POINTS[1] + 500

    # A fake friend buys, the challenge pays, the purchase is refunded: the referral reward and the
    # challenge's both go back, once, however often the refund is replayed.
    for _ in range(2):
        await refund(gql, key, friends[2], 1, BUY, "r-1")
    await process_until_idle(settings, redis)

    assert await balance(gql, ambassador) == 2 * LEVEL_POINTS[1]
    withdrawn = await Event.filter(type="referral_withdrawn").values_list("customer_id", "processed_at")
    assert [(str(customer), done is not None) for customer, done in withdrawn] == [(ambassador.id, True)]
    # A third friend who really buys completes it again.
    again = await referred(gql, ambassador)
    await buy_and_process(gql, key, again, settings, redis, BUY)
    assert await balance(gql, ambassador) == 3 * LEVEL_POINTS[1] + 500
    assert await process_all(settings, redis) == []


async def test_held_rewards_are_paged_and_for_marketers_only(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, key = await programme(gql)
    referrer = await f.customer(gql, deviceId="shared")
    referees = [await referred(gql, referrer, deviceId="shared") for _ in range(2)]
    for referee in referees:
        await buy_and_process(gql, key, referee, settings, redis, BUY)

    first = (await gql(HELD, {"first": 1}, token=marketer))["heldReferralRewards"]
    assert [item["refereeId"] for item in first["items"]] == [referees[0].id]
    assert first["hasNextPage"] is True
    rest = (await gql(HELD, {"first": 1, "after": first["endCursor"]}, token=marketer))["heldReferralRewards"]
    assert [item["refereeId"] for item in rest["items"]] == [referees[1].id]
    assert rest["hasNextPage"] is False
    assert (await gql.error(HELD, {"first": 1}, token=referrer.token))["extensions"]["code"] == "FORBIDDEN"
    bad = await gql.error(HELD, {"first": 1, "after": "nope"}, token=marketer)
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"
