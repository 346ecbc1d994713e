"""A challenge published with backfill counts the window's events recorded before it, exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from app.settings import Settings
from game.events.models import Event
from game.notifications.models import Notification
from tests import factories as f
from tests.challenge_helpers import (
    CHALLENGES,
    CREATE,
    PUBLISH,
    challenge_input,
    process_all,
    published_challenge,
)
from tests.graphql import GraphQL
from tests.schema.test_rewards import CANCEL, REDEEM, reward
from workers.tasks import backfill_challenge, process_event, requeue_unprocessed

THREE_PURCHASES = {"steps": [{"event": "purchase", "aggregate": "count", "target": 3}]}


async def _history(
    gql: GraphQL, settings: Settings, redis: Redis, days_ago: list[int]
) -> tuple[str, str, f.Customer]:
    """A customer with purchases on those days, all processed before any challenge exists."""
    await f.earn_rule(points_per_unit=0)
    marketer, key, alice = await f.marketer_token(gql), await f.api_key(), await f.customer(gql)
    now = datetime.now(UTC)
    for n, days in enumerate(days_ago):
        purchase = f.purchase(alice.id, f"H-{n}", 100, occurredAt=(now - timedelta(days=days)).isoformat())
        await gql(f.RECORD_PURCHASE, {"input": purchase}, api_key=key)
    await process_all(settings, redis)
    return marketer, key, alice


def _ctx(settings: Settings, redis: Redis) -> dict[str, object]:
    return {"settings": settings, "redis": redis, "job_try": 1}


async def _progress(gql: GraphQL, customer: f.Customer) -> list[int]:
    active = (await gql(CHALLENGES, {"status": "ACTIVE"}, token=customer.token))["challenges"]
    return [c["steps"][0]["value"] for c in active]


async def test_backfill_counts_past_events_once(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, key, alice = await _history(gql, settings, redis, [3, 2])
    challenge_id = await published_challenge(gql, marketer, THREE_PURCHASES, backfill=True)
    assert await redis.exists(f"arq:job:backfill:{challenge_id}") == 1  # publication enqueued the job

    assert await backfill_challenge(_ctx(settings, redis), int(challenge_id)) == 2
    assert await backfill_challenge(_ctx(settings, redis), int(challenge_id)) == 0
    assert await _progress(gql, alice) == [2]

    await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "NEW-1", 100)}, api_key=key)
    await process_all(settings, redis)

    [done] = (await gql(CHALLENGES, {"status": "COMPLETED"}, token=alice.token))["challenges"]
    assert done["steps"][0]["value"] == 3
    me = (await gql(f.ME, token=alice.token))["me"]
    assert [e["node"]["delta"] for e in me["ledger"]["edges"] if e["node"]["kind"] == "BONUS"] == [50]


async def test_backfill_counts_what_is_left_of_past_events(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, key, alice = await _history(gql, settings, redis, [4, 3, 2])
    # Before the challenge: one purchase refunded in full, one in part (what is left still counts).
    for order, cents, refund_id in (("H-0", 100, "R-0"), ("H-1", 40, "R-1")):
        data = {"customerId": alice.id, "orderId": order, "refundId": refund_id, "amountCents": cents}
        await gql(f.REFUND_PURCHASE, {"input": data}, api_key=key)
    await process_all(settings, redis)
    at_least_a_euro = {
        "steps": [
            {
                "event": "purchase",
                "aggregate": "count",
                "target": 3,
                "filters": [{"field": "amount_cents", "op": "gte", "value": 50}],
            }
        ]
    }
    challenge_id = await published_challenge(gql, marketer, at_least_a_euro, backfill=True)

    assert await backfill_challenge(_ctx(settings, redis), int(challenge_id)) == 3  # events walked
    # H-0 is gone, H-1 has 60 cents left, H-2 is whole: two count.
    assert await _progress(gql, alice) == [2]


async def test_backfill_does_not_count_a_cancelled_redemption(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, key, alice = await _history(gql, settings, redis, [])
    await f.earn_rule(points_per_unit=10)
    await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "H-1", 1000)}, api_key=key)
    product = await reward(gql, marketer, costPoints=10)
    kept = (await gql(REDEEM, {"id": product, "key": "r1"}, token=alice.token))["redeemReward"]
    cancelled = (await gql(REDEEM, {"id": product, "key": "r2"}, token=alice.token))["redeemReward"]
    await gql(CANCEL, {"id": cancelled["id"]}, token=alice.token)
    await process_all(settings, redis)
    two = {"steps": [{"event": "redemption", "aggregate": "count", "target": 2}]}
    challenge_id = await published_challenge(gql, marketer, two, backfill=True)

    assert await backfill_challenge(_ctx(settings, redis), int(challenge_id)) == 2  # events walked
    assert kept["id"] != cancelled["id"]
    assert await _progress(gql, alice) == [1]


async def test_without_backfill_the_past_does_not_count(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, _, alice = await _history(gql, settings, redis, [3, 2])
    challenge_id = await published_challenge(gql, marketer, THREE_PURCHASES)

    assert await redis.exists(f"arq:job:backfill:{challenge_id}") == 0
    assert await backfill_challenge(_ctx(settings, redis), int(challenge_id)) == 0
    assert await _progress(gql, alice) == [0]


async def test_backfill_keeps_to_the_window(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, _, alice = await _history(gql, settings, redis, [10, 2, 1])
    starts_at = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    challenge_id = await published_challenge(
        gql, marketer, THREE_PURCHASES, backfill=True, startsAt=starts_at
    )

    assert await backfill_challenge(_ctx(settings, redis), int(challenge_id)) == 2
    assert await _progress(gql, alice) == [2]


async def test_a_long_backfill_commits_batch_by_batch_and_hands_over(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, _, alice = await _history(gql, settings, redis, [5, 4, 3, 2])
    bob = await f.customer(gql)
    await gql(f.RECORD_PURCHASE, {"input": f.purchase(bob.id, "B-1", 100)}, api_key=await f.api_key("till-2"))
    await process_all(settings, redis)
    challenge_id = int(await published_challenge(gql, marketer, THREE_PURCHASES, backfill=True))
    # Batches of two events, and a job that hands over as soon as it has committed one.
    ctx = _ctx(settings.model_copy(update={"backfill_batch": 2, "worker_job_timeout_s": 0}), redis)
    events = sorted(
        await Event.filter(type="purchase").order_by("occurred_at", "id").values_list("id", flat=True)
    )

    assert await backfill_challenge(ctx, challenge_id) == 2
    # Committed: Alice's two oldest purchases count, whatever happens to this worker now.
    assert await _progress(gql, alice) == [2]
    assert await redis.exists(f"arq:job:backfill:{challenge_id}:after:{events[1]}") == 1

    assert await backfill_challenge(ctx, challenge_id) == 2
    assert await redis.exists(f"arq:job:backfill:{challenge_id}:after:{events[3]}") == 1
    assert await backfill_challenge(ctx, challenge_id) == 1  # Bob's, the last: done
    assert await backfill_challenge(ctx, challenge_id) == 0

    [done] = (await gql(CHALLENGES, {"status": "COMPLETED"}, token=alice.token))["challenges"]
    assert done["steps"][0]["value"] == 3
    assert await _progress(gql, bob) == [1]
    me = (await gql(f.ME, token=alice.token))["me"]
    assert [e["node"]["delta"] for e in me["ledger"]["edges"] if e["node"]["kind"] == "BONUS"] == [50]
    # The completion's notification was planned after the batch's commit like the worker's own.
    key = f"challenge:{challenge_id}:{alice.id}:once"
    assert await Notification.filter(key=key).values_list("push_status", flat=True) == ["inbox_only"]


async def test_a_refund_during_the_backfill_counts_only_what_the_challenge_has_counted(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    """A refund's recount replays what the challenge counted: its live events, and of the past only what the
    backfill has reached. The past it has not reached yet is counted by the backfill, once."""
    marketer, key, alice = await _history(gql, settings, redis, [3, 2])
    challenge_id = int(await published_challenge(gql, marketer, THREE_PURCHASES, backfill=True))
    await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "NEW-1", 100)}, api_key=key)
    await process_all(settings, redis)
    assert await _progress(gql, alice) == [1]  # the live purchase
    ctx = _ctx(settings.model_copy(update={"backfill_batch": 1, "worker_job_timeout_s": 0}), redis)
    assert await backfill_challenge(ctx, challenge_id) == 1  # the oldest past purchase, then hands over
    assert await _progress(gql, alice) == [2]

    refund = {"customerId": alice.id, "orderId": "NEW-1", "refundId": "R-NEW-1", "amountCents": 100}
    await gql(f.REFUND_PURCHASE, {"input": refund}, api_key=key)
    await process_all(settings, redis)
    # The live purchase is gone; the past one the backfill counted stays; the other is not counted yet.
    assert await _progress(gql, alice) == [1]

    assert await backfill_challenge(ctx, challenge_id) == 1
    assert await backfill_challenge(ctx, challenge_id) == 0
    assert await _progress(gql, alice) == [2]  # two purchases left: no completion
    assert (await gql(CHALLENGES, {"status": "COMPLETED"}, token=alice.token))["challenges"] == []
    me = (await gql(f.ME, token=alice.token))["me"]
    assert [e["node"]["kind"] for e in me["ledger"]["edges"] if e["node"]["kind"] == "BONUS"] == []
    # Once the backfill is done, a refund of a past purchase takes it back like any other.
    refund = {"customerId": alice.id, "orderId": "H-0", "refundId": "R-H-0", "amountCents": 100}
    await gql(f.REFUND_PURCHASE, {"input": refund}, api_key=key)
    await process_all(settings, redis)
    assert await _progress(gql, alice) == [1]


async def test_the_sweeper_hands_over_a_backfill_whose_job_was_lost(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, _, alice = await _history(gql, settings, redis, [3, 2])
    challenge_id = int(await published_challenge(gql, marketer, THREE_PURCHASES, backfill=True))
    await redis.delete(f"arq:job:backfill:{challenge_id}")  # Redis wiped, or the job gave up
    ctx = _ctx(settings.model_copy(update={"requeue_after_s": 0}), redis)

    assert await requeue_unprocessed(ctx) == 1
    assert await redis.exists(f"arq:job:backfill:{challenge_id}") == 1
    assert await backfill_challenge(ctx, challenge_id) == 2
    assert await _progress(gql, alice) == [2]
    # Finished: nothing more to hand over.
    assert await requeue_unprocessed(ctx) == 0


async def test_events_processed_during_publication_count_once_live_or_by_the_backfill(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    """Workers busy on events while a marketer publishes: each event is counted by the worker or by the
    backfill, never by both and never by neither, however their transactions interleave."""
    await f.earn_rule(points_per_unit=0)
    marketer, key = await f.marketer_token(gql), await f.api_key()
    customers = [await f.customer(gql) for _ in range(4)]
    per_customer = 8
    for n in range(per_customer):
        for c in customers:
            await gql(f.RECORD_PURCHASE, {"input": f.purchase(c.id, f"{c.id}-{n}", 100)}, api_key=key)
    rule = {"steps": [{"event": "purchase", "aggregate": "count", "target": 1000}]}
    created = await gql(CREATE, {"input": challenge_input(rule, backfill=True)}, token=marketer)
    challenge_id = int(created["createChallenge"]["id"])
    ids = await Event.filter(processed_at=None).order_by("id").values_list("id", flat=True)
    ctx = _ctx(settings, redis)

    async def publish_mid_way() -> None:
        await asyncio.sleep(0.02)
        await gql(PUBLISH, {"id": str(challenge_id)}, token=marketer)

    outcomes = await asyncio.gather(*(process_event(ctx, i) for i in ids), publish_mid_way())
    assert outcomes[:-1] == ["processed"] * len(ids)
    while await backfill_challenge(ctx, challenge_id):
        pass

    for c in customers:
        assert await _progress(gql, c) == [per_customer]
