"""Pending points (a return window) and FIFO expiry, through the worker's cron tasks and GraphQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from redis.asyncio import Redis

from app.factory import create_app
from app.settings import Settings
from game.earn.service import upsert_rule
from game.ledger.models import EntryKind, LedgerEntry
from game.ledger.service import find_drift
from game.notifications.models import Notification, NotificationKind
from game.points.models import PendingPoints
from game.points.service import months_before
from tests import factories as f
from tests.graphql import GraphQL
from tests.schema.test_rewards import CANCEL, REDEEM, refusal, reward
from tests.servers import serving
from workers.tasks import expire_points, release_pending_points

POINTS = "{ me { points { balance pending expiringSoon { points date } } } }"


def ctx(settings: Settings, redis: Redis, **overrides: Any) -> dict[str, Any]:
    return {"settings": settings.model_copy(update=overrides), "redis": redis, "job_try": 1}


CHALLENGE_PROGRESS = "{ challenges { id steps { value } } }"


async def points(gql: GraphQL, customer: f.Customer) -> dict[str, Any]:
    return dict((await gql(POINTS, token=customer.token))["me"]["points"])


async def buy(gql: GraphQL, till: str, customer: f.Customer, order: str, euros: int) -> None:
    await gql(f.RECORD_PURCHASE, {"input": f.purchase(customer.id, order, euros * 100)}, api_key=till)


async def window_over() -> None:
    """Time passes: every return window has ended."""
    await PendingPoints.all().update(available_at=datetime.now(UTC) - timedelta(minutes=1))


async def test_pending_points_cannot_be_spent_and_become_available_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    await upsert_rule("EUR", 1, {}, pending_days=14)
    marketer, till = await f.marketer_token(gql), await f.api_key("till-1", ["purchases"])
    rid = await reward(gql, marketer, costPoints=10)
    alice = await f.customer(gql)
    await buy(gql, till, alice, "A-1", 30)
    assert await points(gql, alice) == {"balance": 0, "pending": 30, "expiringSoon": []}
    assert await refusal(gql, REDEEM, {"id": rid, "key": "k"}, token=alice.token) == "INSUFFICIENT_POINTS"
    assert await release_pending_points(ctx(settings, redis)) == 0  # the window is not over
    await window_over()
    runs = await asyncio.gather(*(release_pending_points(ctx(settings, redis)) for _ in range(3)))
    assert sorted(runs) == [0, 0, 1]
    assert await release_pending_points(ctx(settings, redis)) == 0
    assert await points(gql, alice) == {"balance": 30, "pending": 0, "expiringSoon": []}
    entries = await LedgerEntry.filter(customer_id=alice.id)
    assert [(e.kind, e.delta, e.award_key) for e in entries] == [(EntryKind.EARN, 30, "purchase:till-1:A-1")]
    await gql(REDEEM, {"id": rid, "key": "k"}, token=alice.token)
    assert (await points(gql, alice))["balance"] == 20


async def test_a_refund_inside_the_window_cancels_pending_points_first(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    await upsert_rule("EUR", 1, {}, pending_days=14)
    till = await f.api_key("till-1", ["purchases"])
    alice = await f.customer(gql)
    await buy(gql, till, alice, "A-1", 20)
    refund = {"customerId": alice.id, "orderId": "A-1", "refundId": "R-1", "amountCents": 500}
    result = (await gql(f.REFUND_PURCHASE, {"input": refund}, api_key=till))["refundPurchase"]
    assert (result["pointsReversed"], result["balance"]) == (5, 0)
    assert await points(gql, alice) == {"balance": 0, "pending": 15, "expiringSoon": []}
    assert await LedgerEntry.filter(customer_id=alice.id).count() == 0
    await window_over()
    await release_pending_points(ctx(settings, redis))
    assert await points(gql, alice) == {"balance": 15, "pending": 0, "expiringSoon": []}
    # After the window, a refund comes out of the balance.
    later = {"customerId": alice.id, "orderId": "A-1", "refundId": "R-2", "amountCents": 1000}
    await gql(f.REFUND_PURCHASE, {"input": later}, api_key=till)
    assert await points(gql, alice) == {"balance": 5, "pending": 0, "expiringSoon": []}
    assert await find_drift() == []


async def backdate(award_key: str, when: datetime) -> None:
    await LedgerEntry.filter(award_key=award_key).update(created_at=when)


async def test_fifo_expiry_spends_the_oldest_first_and_runs_twice_harmlessly(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    await f.earn_rule(points_per_unit=1)
    marketer, till = await f.marketer_token(gql), await f.api_key("till-1", ["purchases"])
    rid = await reward(gql, marketer, costPoints=30)
    alice = await f.customer(gql)
    now = datetime.now(UTC)
    await buy(gql, till, alice, "old", 100)
    await backdate("purchase:till-1:old", now - timedelta(days=400))
    await buy(gql, till, alice, "soon", 40)
    soon_day = months_before(now.date(), 12) + timedelta(days=10)
    await backdate(
        "purchase:till-1:soon", datetime(soon_day.year, soon_day.month, soon_day.day, 12, tzinfo=UTC)
    )
    await buy(gql, till, alice, "new", 50)
    await gql(REDEEM, {"id": rid, "key": "k"}, token=alice.token)  # spends 30 of the oldest 100
    yearly = ctx(settings, redis, points_expiry_months=12)
    runs = await asyncio.gather(expire_points(yearly), expire_points(yearly))
    assert sorted(runs) == [0, 1]
    assert await expire_points(yearly) == 0
    expiries = await LedgerEntry.filter(customer_id=alice.id, kind=EntryKind.EXPIRY)
    assert [e.delta for e in expiries] == [-70]
    async with serving(create_app(yearly["settings"])) as url, httpx.AsyncClient(base_url=url) as client:
        seen = await points(GraphQL(client), alice)
    assert seen["balance"] == 90  # 100 + 40 + 50 - 30 redeemed - 70 expired
    assert [e["points"] for e in seen["expiringSoon"]] == [40]
    assert now.date() < date.fromisoformat(seen["expiringSoon"][0]["date"]) <= now.date() + timedelta(days=12)
    notices = await Notification.filter(customer_id=alice.id, kind=NotificationKind.POINTS_EXPIRING)
    assert [n.payload["points"] for n in notices] == [40]
    assert await find_drift() == []


async def test_expiry_and_redemption_racing_never_spend_the_same_points_twice(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    await f.earn_rule(points_per_unit=1)
    marketer, till = await f.marketer_token(gql), await f.api_key("till-1", ["purchases"])
    rid = await reward(gql, marketer, costPoints=100)
    yearly = ctx(settings, redis, points_expiry_months=12)
    customers = [await f.customer(gql) for _ in range(6)]
    for c in customers:
        await buy(gql, till, c, f"old-{c.id}", 100)
        await backdate(f"purchase:till-1:old-{c.id}", datetime.now(UTC) - timedelta(days=400))
    redemptions = [gql.raw(REDEEM, {"id": rid, "key": "k"}, token=c.token) for c in customers]
    results = await asyncio.gather(expire_points(yearly), *redemptions)
    bodies = [r.json() for r in results[1:]]
    redeemed = sum("errors" not in b for b in bodies)
    refused = [b["errors"][0]["extensions"]["reason"] for b in bodies if "errors" in b]
    assert refused == ["INSUFFICIENT_POINTS"] * len(refused)
    assert results[0] == 6 - redeemed
    for c in customers:
        entries = await LedgerEntry.filter(customer_id=c.id).order_by("id")
        kinds = [e.kind for e in entries][1:]
        assert kinds in ([EntryKind.EXPIRY], [EntryKind.REDEMPTION]), kinds
        assert entries[-1].balance_after == 0
    assert await find_drift() == []


async def redemption_challenge(
    gql: GraphQL, step: dict[str, Any], reward_points: int, **reward_fields: Any
) -> tuple[str, str, str, str]:
    """1 point per euro, a till, a product reward of 10 points (or as given) and a live challenge of that
    redemption step: (marketer, till, reward id, challenge id)."""
    from tests.challenge_helpers import published_challenge

    await f.earn_rule(points_per_unit=1)
    marketer, till = await f.marketer_token(gql), await f.api_key("till-1", ["purchases"])
    product = await reward(gql, marketer, **({"costPoints": 10} | reward_fields))
    challenge_id = await published_challenge(gql, marketer, {"steps": [step]}, rewardPoints=reward_points)
    return marketer, till, product, challenge_id


async def test_a_redeem_a_reward_challenge_completes_on_a_donation(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    from tests.challenge_helpers import process_all

    step = {
        "event": "redemption",
        "aggregate": "count",
        "target": 1,
        "filters": [{"field": "kind", "op": "eq", "value": "donation"}],
    }
    marketer, till, product, _ = await redemption_challenge(gql, step, 25)
    donation = await reward(gql, marketer, kind="DONATION", costPoints=10)
    alice = await f.customer(gql)
    await buy(gql, till, alice, "A-1", 100)
    await gql(REDEEM, {"id": product, "key": "p"}, token=alice.token)
    await process_all(settings, redis)
    assert (await points(gql, alice))["balance"] == 90  # a product is not a donation
    await gql(REDEEM, {"id": donation, "key": "d"}, token=alice.token)
    await process_all(settings, redis)
    assert (await points(gql, alice))["balance"] == 80 + 25
    assert await find_drift() == []


async def test_cancelling_a_redemption_takes_back_the_challenge_it_completed_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    from tests.challenge_helpers import process_all

    step = {"event": "redemption", "aggregate": "count", "target": 2, "filters": []}
    _, till, product, challenge_id = await redemption_challenge(gql, step, 50)
    alice = await f.customer(gql)
    await buy(gql, till, alice, "A-1", 100)
    first = (await gql(REDEEM, {"id": product, "key": "r1"}, token=alice.token))["redeemReward"]
    await gql(REDEEM, {"id": product, "key": "r2"}, token=alice.token)
    await process_all(settings, redis)
    assert (await points(gql, alice))["balance"] == 100 - 20 + 50

    # Redeem twice for the bonus, cancel one for the points back: the bonus no longer holds.
    for _ in range(2):  # a replayed cancellation withdraws nothing more
        cancelled = await gql(CANCEL, {"id": first["id"]}, token=alice.token)
        assert cancelled["cancelRedemption"]["status"] == "CANCELLED"
    await process_all(settings, redis)

    assert (await points(gql, alice))["balance"] == 100 - 10
    entries = await LedgerEntry.filter(customer_id=alice.id).order_by("id")
    assert [(e.kind, e.delta) for e in entries][-2:] == [
        (EntryKind.REDEMPTION, 10),
        (EntryKind.CLAWBACK, -50),
    ]
    progress = await gql(CHALLENGE_PROGRESS, token=alice.token)
    [shown] = [c for c in progress["challenges"] if c["id"] == challenge_id]
    assert [s["value"] for s in shown["steps"]] == [1]
    # One more redemption completes it again, under a fresh award key.
    await gql(REDEEM, {"id": product, "key": "r3"}, token=alice.token)
    await process_all(settings, redis)
    assert (await points(gql, alice))["balance"] == 100 - 20 + 50
    assert await find_drift() == []


async def test_a_redemption_cancelled_before_the_worker_saw_it_counts_nothing(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    from tests.challenge_helpers import process_all

    step = {"event": "redemption", "aggregate": "count", "target": 1, "filters": []}
    _, till, product, _ = await redemption_challenge(gql, step, 50)
    alice = await f.customer(gql)
    await buy(gql, till, alice, "A-1", 100)
    spent = (await gql(REDEEM, {"id": product, "key": "r1"}, token=alice.token))["redeemReward"]
    await gql(CANCEL, {"id": spent["id"]}, token=alice.token)

    await process_all(settings, redis)  # the redemption, then its cancellation

    assert (await points(gql, alice))["balance"] == 100
    kinds = await LedgerEntry.filter(customer_id=alice.id).values_list("kind", flat=True)
    assert EntryKind.CLAWBACK not in kinds
    assert EntryKind.BONUS not in kinds
    assert await find_drift() == []


async def test_a_held_eco_bonus_is_released_as_a_bonus(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    await upsert_rule("EUR", 1, {}, eco_bonus_pct=50, pending_days=7)
    till = await f.api_key("till-1", ["purchases"])
    alice = await f.customer(gql)
    item = {"sku": "REFILL", "quantity": 1, "unitPriceCents": 2000, "eco": True}
    data = f.purchase(alice.id, "E-1", 2000, items=[item])
    result = (await gql(f.RECORD_PURCHASE, {"input": data}, api_key=till))["recordPurchase"]
    assert (result["pointsAwarded"], result["balance"]) == (30, 0)
    assert await points(gql, alice) == {"balance": 0, "pending": 30, "expiringSoon": []}
    await window_over()
    await release_pending_points(ctx(settings, redis))
    entries = await LedgerEntry.filter(customer_id=alice.id).order_by("id")
    assert [(e.kind, e.delta) for e in entries] == [(EntryKind.EARN, 20), (EntryKind.BONUS, 10)]
