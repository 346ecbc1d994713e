"""Boards are derived from the truth (the ledger, eco contributions, completions): every path that pays moves
them, once, and a rebuild (which repairs `leaderboard_score` too) gives the board the increments built,
even when an update lands in the middle of it.

Purchases earn 1 point per euro; a challenge of two purchases pays 25 points.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from app.settings import Settings
from game.customers.models import Customer
from game.earn.service import upsert_rule
from game.errors import DomainError, ErrorCode
from game.leaderboards.models import LeaderboardScore
from game.leaderboards.rebuild import rebuild, rebuild_opt_outs
from tests import factories as f
from tests.challenge_helpers import process_all, published_challenge
from tests.graphql import GraphQL
from tests.processes import run_tessera
from tests.referral_helpers import APPROVE, HELD, configure, process_until_idle, referred
from tests.schema.test_rewards import CANCEL, REDEEM, reward
from tests.workers.test_challenge_evaluation import Till
from tests.workers.test_leaderboards import (
    MY_RANK,
    OPT_OUT,
    PAGE,
    Shop,
    _board_state,
    ago,
    board,
    rows,
    shop,
)
from tests.workers.test_points_lifecycle import window_over
from workers.tasks import backfill_challenge, release_pending_points, requeue_unprocessed

TWO_PURCHASES = {"steps": [{"event": "purchase", "aggregate": "count", "target": 2}]}


def ctx(settings: Settings, redis: Redis) -> dict[str, Any]:
    return {"settings": settings, "redis": redis, "job_try": 1}


async def refund(gql: GraphQL, s: Shop, customer: f.Customer, order: int, euros: int, refund_id: str) -> None:
    data = {
        "customerId": customer.id,
        "orderId": f"{customer.id[:8]}-{order}",
        "refundId": refund_id,
        "amountCents": euros * 100,
    }
    await gql(f.REFUND_PURCHASE, {"input": data}, api_key=s.tills[customer.id].key)


async def views(gql: GraphQL, marketer: str, viewer: f.Customer, key: str) -> tuple[Any, Any]:
    """The board as a customer reads it (Redis) and as a marketer does (leaderboard_score)."""
    mine = rows((await gql(PAGE, {"key": key}, token=viewer.token))["leaderboard"])
    real = rows((await gql(PAGE, {"key": key}, token=marketer))["leaderboard"])
    return mine, real


async def rebuilt_as_they_are(settings: Settings, redis: Redis, tmp_path: Path, **members: int) -> None:
    """`tessera leaderboards rebuild` of the boards the increments built (their members by board key) repairs
    nothing and leaves them as they were."""
    await requeue_unprocessed(ctx(settings, redis))  # marks the incremental boards ready
    incremental = await _board_state(redis)
    run = await run_tessera(settings, "leaderboards", "rebuild", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    for key, count in members.items():
        assert f"rebuilt {key}: {count} member(s), 0 score(s) repaired" in run.stdout
    assert await _board_state(redis) == incremental


async def test_a_rebuilt_board_equals_the_board_the_truth_gives_after_refunds_and_clawbacks(
    gql: GraphQL, settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    marketer, s = await shop(gql)
    await published_challenge(gql, marketer, TWO_PURCHASES, rewardPoints=25)
    await board(gql, marketer)
    await board(gql, marketer, "done", metric="CHALLENGES_COMPLETED")
    ann, bob, cat = [await s.customer(n) for n in ("Ann", "Bob", "Cat")]
    await s.buy(ann, 30, ago(50))
    await s.buy(ann, 20, ago(40))  # completes the challenge: 30 + 20 + 25
    await s.buy(bob, 30, ago(30))
    await s.buy(cat, 10, ago(20))
    await s.buy(cat, 10, ago(10))  # completes it too: 10 + 10 + 25
    await process_all(settings, redis)
    # Ann's second purchase is refunded: its 20 points go, and so does the completion (a clawback of 25).
    await refund(gql, s, ann, 2, 20, "R-1")
    # Spending does not lower a board.
    await gql(REDEEM, {"id": await reward(gql, marketer, costPoints=10), "key": "k"}, token=cat.token)
    await process_all(settings, redis)

    # The truth, worked out by hand: Cat 45; Bob reached 30 half an hour ago, Ann only now (the refund).
    points = [(1, 45, "Cat"), (2, 30, "Bob"), (2, 30, "Ann")]
    done = [(1, 1, "Cat"), (2, 0, "Ann")]
    assert await views(gql, marketer, bob, "points") == (points, points)
    assert await views(gql, marketer, bob, "done") == (done, done)
    await requeue_unprocessed(ctx(settings, redis))  # marks the incremental boards ready
    incremental = await _board_state(redis)

    # Both copies drift: a score and a missing row in the database, a member in Redis.
    await LeaderboardScore.filter(customer_id=cat.id).update(score=999)
    await LeaderboardScore.filter(customer_id=bob.id).delete()
    await redis.zrem("lb:done:all", ann.id)

    run = await run_tessera(settings, "leaderboards", "rebuild", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "rebuilt points: 3 member(s), 2 score(s) repaired" in run.stdout
    assert "rebuilt done: 2 member(s), 1 score(s) repaired" in run.stdout
    assert await _board_state(redis) == incremental
    assert await views(gql, marketer, bob, "points") == (points, points)
    assert await views(gql, marketer, bob, "done") == (done, done)

    # A board already equal to the truth is rebuilt as it is.
    run = await run_tessera(settings, "leaderboards", "rebuild", "--key", "points", cwd=tmp_path)
    assert "rebuilt points: 3 member(s), 0 score(s) repaired" in run.stdout
    assert await _board_state(redis) == incremental

    # A name edited by hand in the database reaches the boards with --names: a rebuild keeps the names it
    # finds written, and rewrites them all when asked.
    await Customer.filter(id=cat.id).update(display_name="Catherine")
    run = await run_tessera(settings, "leaderboards", "rebuild", "--key", "points", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (await views(gql, marketer, bob, "points"))[0][0] == (1, 45, "Cat")
    run = await run_tessera(settings, "leaderboards", "rebuild", "--key", "points", "--names", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    renamed = [(1, 45, "Catherine"), *points[1:]]
    assert await views(gql, marketer, bob, "points") == (renamed, renamed)


async def test_a_cancelled_redemptions_withdrawn_challenge_leaves_the_boards_as_a_rebuild_finds_them(
    gql: GraphQL, settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    marketer, s = await shop(gql)
    redeem_one = {"steps": [{"event": "redemption", "aggregate": "count", "target": 1}]}
    await published_challenge(gql, marketer, redeem_one, rewardPoints=25)
    await board(gql, marketer)
    await board(gql, marketer, "done", metric="CHALLENGES_COMPLETED")
    ann, bob = [await s.customer(n) for n in ("Ann", "Bob")]
    await s.buy(ann, 30, ago(50))
    await s.buy(bob, 40, ago(40))
    spent = (
        await gql(REDEEM, {"id": await reward(gql, marketer, costPoints=10), "key": "k"}, token=ann.token)
    )["redeemReward"]
    await process_all(settings, redis)
    assert await views(gql, marketer, bob, "points") == ([(1, 55, "Ann"), (2, 40, "Bob")],) * 2
    assert await views(gql, marketer, bob, "done") == ([(1, 1, "Ann")],) * 2

    await gql(CANCEL, {"id": spent["id"]}, token=ann.token)
    await process_all(settings, redis)

    # The completion is withdrawn (a clawback of 25) under the cancellation's event; spending never counted.
    points, done = [(1, 40, "Bob"), (2, 30, "Ann")], [(1, 0, "Ann")]
    assert await views(gql, marketer, bob, "points") == (points, points)
    assert await views(gql, marketer, bob, "done") == (done, done)
    await rebuilt_as_they_are(settings, redis, tmp_path, points=2, done=1)


async def test_awards_posted_after_their_event_was_processed_move_the_boards_once(
    gql: GraphQL, settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    marketer, s = await shop(gql)
    await board(gql, marketer)
    await board(gql, marketer, "done", metric="CHALLENGES_COMPLETED")
    ann = await s.customer("Ann")

    async def scores(customer: f.Customer) -> tuple[int | None, int | None]:
        found = []
        for key in ("points", "done"):
            mine = (await gql(MY_RANK, {"key": key}, token=customer.token))["myRank"]
            found.append(None if mine is None else mine["score"])
        return found[0], found[1]

    # A challenge published with backfill completes on purchases processed before it existed.
    await s.buy(ann, 10, ago(30))
    await s.buy(ann, 10, ago(20))
    await process_all(settings, redis)
    assert await scores(ann) == (20, None)
    challenge = await published_challenge(gql, marketer, TWO_PURCHASES, rewardPoints=25, backfill=True)
    assert await backfill_challenge(ctx(settings, redis), int(challenge)) == 2
    assert await backfill_challenge(ctx(settings, redis), int(challenge)) == 0
    assert await scores(ann) == (45, 1)

    # Points held for a return window count when they are released, once.
    await upsert_rule("EUR", 1, {}, pending_days=14)
    await s.buy(ann, 40, ago(10))
    await process_all(settings, redis)
    assert await scores(ann) == (45, 1)
    await window_over()
    assert await release_pending_points(ctx(settings, redis)) == 1
    assert await release_pending_points(ctx(settings, redis)) == 0
    assert await scores(ann) == (85, 1)
    await upsert_rule("EUR", 1, {})

    # A referral reward moves the board of the customer it pays (not the referee's), and one held for
    # review moves it when a marketer approves it.
    await configure(gql, marketer)
    bob = await s.customer("Bob")
    cat = await referred(gql, bob, displayName="Cat")
    s.tills[cat.id] = Till(gql, s.key, cat)
    await s.buy(cat, 30, ago(5))
    await process_until_idle(settings, redis)
    assert await scores(bob) == (100, None)
    assert await scores(cat) == (30 + 50, None)
    dan = await s.customer("Dan")
    eve = await referred(gql, dan, displayName="Eve")
    s.tills[eve.id] = Till(gql, s.key, eve)
    await configure(gql, marketer, velocityLimit=0)  # Dan's first referee is held for review
    await s.buy(eve, 30, ago(4))
    await process_until_idle(settings, redis)
    assert await scores(dan) == (None, None)
    assert await scores(eve) == (30, None)
    [hold] = (await gql(HELD, {}, token=marketer))["heldReferralRewards"]["items"]
    await gql(APPROVE, {"id": hold["id"]}, token=marketer)
    assert await scores(dan) == (100, None)
    assert await scores(eve) == (30 + 50, None)

    # The rebuild finds nothing to repair: the increments are the truth.
    await rebuilt_as_they_are(settings, redis, tmp_path, points=5, done=1)


async def three_on_the_board(
    gql: GraphQL, settings: Settings, redis: Redis
) -> tuple[Shop, tuple[f.Customer, f.Customer, f.Customer]]:
    """Ann 30, Bob 20 and Cat 10 on the points board, processed."""
    marketer, s = await shop(gql)
    await board(gql, marketer)
    ann, bob, cat = [await s.customer(n) for n in ("Ann", "Bob", "Cat")]
    await s.buy(ann, 30, ago(30))
    await s.buy(bob, 20, ago(20))
    await s.buy(cat, 10, ago(10))
    await process_all(settings, redis)
    return s, (ann, bob, cat)


async def test_updates_and_opt_outs_that_land_during_a_rebuild_survive_its_swap(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    s, (ann, bob, cat) = await three_on_the_board(gql, settings, redis)
    interleaved = []

    async def meanwhile(done: int, total: int) -> None:
        # Every member is written into the set being built, and the swap is next: Bob's purchase and Cat's
        # opt-out land now, on the live set.
        if not interleaved:
            interleaved.append((done, total))
            await s.buy(bob, 50, ago(1))
            await process_all(settings, redis)
            await gql(OPT_OUT, {"o": True}, token=cat.token)
            live = rows((await gql(PAGE, {"key": "points"}, token=ann.token))["leaderboard"])
            assert live == [(1, 70, "Bob"), (2, 30, "Ann")]

    counts = await rebuild(redis, ZoneInfo(settings.programme_timezone), "points", lambda _: meanwhile)
    assert interleaved == [(3, 3)]
    assert counts["points"].members == 2
    after = rows((await gql(PAGE, {"key": "points"}, token=ann.token))["leaderboard"])
    assert after == [(1, 70, "Bob"), (2, 30, "Ann")]
    assert not [k for k in await redis.keys("lb:*") if k.endswith((b":next", b"rebuild:points:all"))]
    # Nothing was left for the next rebuild to repair.
    again = await rebuild(redis, ZoneInfo(settings.programme_timezone), "points")
    assert again["points"].repaired == 0
    assert rows((await gql(PAGE, {"key": "points"}, token=ann.token))["leaderboard"]) == after


async def test_opt_outs_and_opt_ins_that_land_while_the_opt_outs_are_rebuilt_survive_the_swap(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    s, (ann, bob, cat) = await three_on_the_board(gql, settings, redis)
    await gql(OPT_OUT, {"o": True}, token=cat.token)

    async def meanwhile() -> None:
        # The database was read with Cat out and Ann in: now Ann opts out and Cat back in.
        await gql(OPT_OUT, {"o": True}, token=ann.token)
        await gql(OPT_OUT, {"o": False}, token=cat.token)

    await rebuild_opt_outs(redis, meanwhile)

    assert await redis.smembers("lb:optout") == {ann.id.encode()}
    expected = [(1, 20, "Bob"), (2, 10, "Cat")]
    assert rows((await gql(PAGE, {"key": "points"}, token=bob.token))["leaderboard"]) == expected
    # Ann's next purchase does not bring her back, nor does the next rebuild.
    await s.buy(ann, 5, ago(1))
    await process_all(settings, redis)
    await rebuild(redis, ZoneInfo(settings.programme_timezone), "points")
    assert rows((await gql(PAGE, {"key": "points"}, token=bob.token))["leaderboard"]) == expected
    assert not await redis.exists("lb:optout:rebuilding", "lb:optout:journal")


async def test_a_board_cannot_be_rebuilt_twice_at_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, s = await shop(gql)
    await board(gql, marketer)
    ann = await s.customer("Ann")
    await s.buy(ann, 30, datetime.now(UTC) - timedelta(minutes=5))
    await process_all(settings, redis)
    tz = ZoneInfo(settings.programme_timezone)
    refused = []

    async def second(done: int, total: int) -> None:
        if not refused:
            with pytest.raises(DomainError) as refusal:
                await rebuild(redis, tz, "points")
            refused.append(refusal.value.code)

    await rebuild(redis, tz, "points", lambda _: second)
    assert refused == [ErrorCode.CONFLICT]
    assert rows((await gql(PAGE, {"key": "points"}, token=ann.token))["leaderboard"]) == [(1, 30, "Ann")]
