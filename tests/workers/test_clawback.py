"""Buy, complete, return: a refund takes back what its purchase earned, and only what no longer holds.

Purchases and refunds go through GraphQL with a till's API key; the worker's `process_event` task runs by
hand (or twice at once, as two workers would); the customer reads challenges, badges, streak and ledger over
GraphQL.
"""

from __future__ import annotations

import asyncio
from datetime import time
from typing import Any
from uuid import UUID

import pytest
from redis.asyncio import Redis
from tortoise.transactions import in_transaction

from app.settings import Settings
from game.events.models import Event
from game.ledger.models import EntryKind
from game.ledger.service import find_drift, post_entry
from game.notifications.models import Notification, NotificationKind
from tests import factories as f
from tests.badge_helpers import level, my_badges, published_badge
from tests.challenge_helpers import process_all
from tests.graphql import GraphQL
from tests.workers.test_challenge_evaluation import (
    Till,
    challenge,
    count_step,
    days_ago,
    in_utc,
    ledger,
    listed,
    rule,
    setup,
    task_ctx,
)
from tests.workers.test_streaks import configure, milestones, streak
from workers.tasks import process_event

CHALLENGE_POINTS = 500
SET_POLICY = "mutation($b: Boolean!) { setClawbackPolicy(belowZero: $b) { belowZero } }"


async def refund(gql: GraphQL, till: Till, order: int, amount_cents: int, refund_id: str) -> dict[str, Any]:
    data = {
        "customerId": till.customer.id,
        "orderId": f"{till.customer.id[:8]}-{order}",
        "refundId": refund_id,
        "amountCents": amount_cents,
    }
    result = await gql(f.REFUND_PURCHASE, {"input": data}, api_key=till.key)
    return dict(result["refundPurchase"])


async def programme(gql: GraphQL) -> tuple[str, f.Customer, Till, dict[str, str]]:
    """A "3 purchases" challenge (+500) granting a badge, a rule badge of three levels, a daily streak with a
    3-day milestone (+30); purchases earn 1 point per euro."""
    marketer, alice, till = await setup(gql)
    granted = await published_badge(gql, marketer, "loyal", [level(1, "Loyal", 20)], None)
    buyer = await published_badge(
        gql,
        marketer,
        "buyer",
        [level(1, "Bronze", 5), level(2, "Silver", 7), level(3, "Gold", 11)],
        rule(count_step("purchase", 3)),
    )
    three = await challenge(
        gql, marketer, rule(count_step("purchase", 3)), rewardPoints=CHALLENGE_POINTS, rewardBadgeId=granted
    )
    await configure(gql, marketer, period="DAILY", freezeDays=0, milestones=milestones((3, 30)))
    return marketer, alice, till, {"challenge": three, "loyal": granted, "buyer": buyer}


async def seen(gql: GraphQL, alice: f.Customer) -> dict[str, dict[str, Any]]:
    """The customer's challenges, completed or not, by id."""
    return await listed(gql, alice, "ACTIVE") | await listed(gql, alice, "COMPLETED")


async def earned_state(gql: GraphQL, alice: f.Customer, ids: dict[str, str]) -> dict[str, Any]:
    balance, entries = await ledger(gql, alice)
    assert balance == sum(e["delta"] for e in entries)
    assert await find_drift() == []
    challenges = await seen(gql, alice)
    badges = await my_badges(gql, alice.token)
    return {
        "balance": balance,
        "completed": challenges[ids["challenge"]]["completedAt"] is not None,
        "steps": [s["value"] for s in challenges[ids["challenge"]]["steps"]],
        "loyal": badges["loyal"]["level"],
        "buyer": badges["buyer"]["level"],
        "streak": (await streak(gql, alice))["current"],
    }


async def test_refunding_every_purchase_takes_back_everything_it_earned(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    _, alice, till, ids = await programme(gql)
    settings = in_utc(settings)
    for day in (3, 2, 1):
        await till.buy(1000, at=days_ago(day, time(10)))
    await process_all(settings, redis)
    # 30 for the purchases, 500 + the granted badge's 20, buyer levels 5 + 7 + 11, the streak's 30.
    assert await earned_state(gql, alice, ids) == {
        "balance": 30 + 500 + 20 + 23 + 30,
        "completed": True,
        "steps": [3],
        "loyal": 1,
        "buyer": 3,
        "streak": 3,
    }

    for order in (1, 2, 3):
        assert (await refund(gql, till, order, 1000, f"R-{order}"))["pointsReversed"] == 10
    await process_all(settings, redis)
    withdrawn = {"balance": 0, "completed": False, "steps": [0], "loyal": 0, "buyer": 0, "streak": 0}
    assert await earned_state(gql, alice, ids) == withdrawn

    _, entries = await ledger(gql, alice)
    clawbacks = sorted(e["delta"] for e in entries if e["kind"] == "CLAWBACK")
    assert clawbacks == [-500, -30, -20, -11, -7, -5]
    kinds = await Notification.filter(customer_id=alice.id, kind=NotificationKind.REWARD_WITHDRAWN).count()
    assert kinds == 6

    # Replays: the refund mutations answer their first result, the jobs find their events processed, and a
    # refund event processed again from scratch (its mark lost) finds nothing more to take.
    assert (await refund(gql, till, 1, 1000, "R-1"))["duplicate"] is True
    refund_ids = await Event.filter(type="refund").order_by("id").values_list("id", flat=True)
    ctx = task_ctx(settings, redis)
    assert [await process_event(ctx, i) for i in refund_ids] == ["already_processed"] * 3
    await Event.filter(type="refund").update(processed_at=None)
    await asyncio.gather(*(process_event(ctx, i) for i in refund_ids for _ in range(2)))
    assert await earned_state(gql, alice, ids) == withdrawn
    _, again = await ledger(gql, alice)
    assert len(again) == len(entries)


async def test_two_workers_on_the_refunds_take_back_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    _, alice, till, ids = await programme(gql)
    settings = in_utc(settings)
    for day in (3, 2, 1):
        await till.buy(1000, at=days_ago(day, time(10)))
    await process_all(settings, redis)
    for order in (1, 2, 3):
        await refund(gql, till, order, 1000, f"R-{order}")
    refund_ids = await Event.filter(processed_at=None).order_by("id").values_list("id", flat=True)
    ctx = task_ctx(settings, redis)
    outcomes = await asyncio.gather(*(process_event(ctx, i) for i in refund_ids for _ in range(2)))
    assert sorted(outcomes) == ["already_processed"] * 3 + ["processed"] * 3
    state = await earned_state(gql, alice, ids)
    assert state == {"balance": 0, "completed": False, "steps": [0], "loyal": 0, "buyer": 0, "streak": 0}


async def test_partial_refunds_withdraw_only_what_no_longer_holds(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till, ids = await programme(gql)
    spent = await challenge(
        gql,
        marketer,
        rule({"event": "purchase", "aggregate": "sum", "field": "amount_cents", "target": 2500}),
        rewardPoints=100,
        title={"en": "Spend 25"},
    )
    settings = in_utc(settings)
    for day in (3, 2, 1):
        await till.buy(1000, at=days_ago(day, time(10)))
    await process_all(settings, redis)
    before = await earned_state(gql, alice, ids)
    assert (await seen(gql, alice))[spent]["completedAt"] is not None

    # 30.00 - 5.00 = 25.00: every purchase still counts, the sum still reaches its target, the streak holds.
    assert (await refund(gql, till, 1, 500, "R-1a"))["pointsReversed"] == 5
    await process_all(settings, redis)
    assert await earned_state(gql, alice, ids) == before | {"balance": before["balance"] - 5}
    assert (await seen(gql, alice))[spent]["completedAt"] is not None

    # One cent short of 25.00: only the spending challenge goes, and its progress shows what is left.
    assert (await refund(gql, till, 2, 1, "R-2a"))["pointsReversed"] == 0
    await process_all(settings, redis)
    assert await earned_state(gql, alice, ids) == before | {"balance": before["balance"] - 5 - 100}
    spending = (await seen(gql, alice))[spent]
    assert spending["completedAt"] is None
    assert [s["value"] for s in spending["steps"]] == [2499]

    # A later purchase completes it again, under a fresh award key: earned again, paid again.
    await till.buy(1000)
    await process_all(settings, redis)
    assert (await seen(gql, alice))[spent]["completedAt"] is not None
    balance, entries = await ledger(gql, alice)
    assert [e["delta"] for e in entries if e["reason"] == "Challenge completed: Spend 25"] == [100, 100]
    # Its 10 points and the 100 again; buyer holds every level already, the streak counted today already.
    assert balance == before["balance"] - 5 - 100 + 10 + 100


@pytest.mark.parametrize(("below_zero", "after"), [(True, 120 - 500), (False, 0)])
async def test_the_clawback_policy_decides_whether_a_balance_may_go_below_zero(
    gql: GraphQL, settings: Settings, redis: Redis, below_zero: bool, after: int
) -> None:
    marketer, alice, till = await setup(gql)
    assert (await gql(SET_POLICY, {"b": below_zero}, token=marketer))["setClawbackPolicy"] == {
        "belowZero": below_zero
    }
    await challenge(gql, marketer, rule(count_step("purchase", 3)), rewardPoints=CHALLENGE_POINTS)
    settings = in_utc(settings)
    for day in (3, 2, 1):
        await till.buy(1000, at=days_ago(day, time(10)))
    await process_all(settings, redis)
    async with in_transaction() as conn:  # the customer spends 400 of her 530 points
        await post_entry(
            conn,
            customer_id=UUID(alice.id),
            delta=-400,
            kind=EntryKind.ADJUSTMENT,
            reason="Spent",
            award_key="spent",
        )
    await refund(gql, till, 1, 1000, "R-1")
    await process_all(settings, redis)
    balance, entries = await ledger(gql, alice)
    assert balance == after
    [clawback] = [e for e in entries if e["kind"] == "CLAWBACK"]
    assert clawback["delta"] == (-500 if below_zero else -120)
