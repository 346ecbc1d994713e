"""Activity streaks event by event: runs, freezes, restarts, weeks, DST, milestones once, the read side.

Events are recorded over GraphQL (purchases with an API key and an `occurredAt` in the past, `check_in` and
`share` with the customer's token, today) and the worker's `process_event` task is run by hand; the customer
reads `streak` over GraphQL, as of today. Days are UTC days (the worker runs in UTC) except in the DST test.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from app.settings import Settings
from game.ledger.models import LedgerEntry
from game.ledger.service import find_drift
from game.notifications.models import Notification
from tests import factories as f
from tests.challenge_helpers import process_all
from tests.graphql import GraphQL
from tests.schema.test_subscriptions import bearer, graphql_ws, init, nothing_arrives, receive, subscribe
from tests.workers.test_challenge_evaluation import (
    Till,
    challenge,
    count_step,
    days_ago,
    fixed_dates_usable,
    in_paris,
    in_utc,
    ledger,
    rule,
    setup,
    task_ctx,
    track,
    unprocessed,
    utc,
)
from workers.tasks import process_event

CONFIGURE = """
mutation($input: StreakSettingsInput!) { configureStreak(input: $input) { period freezeDays active } }
"""
STREAK = """
{ streak { period current best freezeDays freezesLeft lastActiveOn alive
           nextMilestone { length rewardPoints } } }
"""
PURCHASE_POINTS = 10  # Till.buy's default 10 EUR at setup's 1 point per euro


def on(days_before_today: int) -> str:
    """The ISO date `days_before_today` UTC days before today, as `lastActiveOn` shows it."""
    return (datetime.now(UTC).date() - timedelta(days=days_before_today)).isoformat()


def milestones(*pairs: tuple[int, int]) -> list[dict[str, int]]:
    return [{"length": length, "rewardPoints": points} for length, points in pairs]


async def configure(gql: GraphQL, marketer: str, **settings: Any) -> None:
    result = await gql(CONFIGURE, {"input": settings}, token=marketer)
    assert result["configureStreak"]["active"] is settings.get("active", True)


async def streak(gql: GraphQL, customer: f.Customer) -> dict[str, Any]:
    data = (await gql(STREAK, token=customer.token))["streak"]
    assert data is not None, "the programme has no active streak"
    return dict(data)


def seen(
    current: int,
    best: int,
    freezes_left: int,
    last: str | None,
    *,
    alive: bool | None = None,
    freeze_days: int = 0,
    period: str = "DAILY",
    next_milestone: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """What `streak` should show; alive defaults to whether there is a current run."""
    return {
        "period": period,
        "current": current,
        "best": best,
        "freezeDays": freeze_days,
        "freezesLeft": freezes_left,
        "lastActiveOn": last,
        "alive": current > 0 if alive is None else alive,
        "nextMilestone": (
            {"length": next_milestone[0], "rewardPoints": next_milestone[1]} if next_milestone else None
        ),
    }


async def streak_rewards(gql: GraphQL, customer: f.Customer) -> list[tuple[int, str]]:
    """(points, reason) of the customer's streak rewards, oldest first; checks that the ledger adds up."""
    balance, entries = await ledger(gql, customer)
    assert balance == sum(e["delta"] for e in entries)
    assert await find_drift() == []
    rewards = [(e["delta"], e["reason"]) for e in entries if e["reason"].startswith("Streak")]
    assert all(e["kind"] == "BONUS" for e in entries if e["reason"].startswith("Streak")), entries
    return rewards[::-1]


async def streak_keys(customer: f.Customer) -> list[str]:
    rows = await LedgerEntry.filter(customer_id=customer.id, award_key__startswith="streak:")
    return sorted(row.award_key for row in rows)


def days(n: int) -> str:
    return f"Streak milestone: {n} days in a row"


# ------------------------------------------------------------------------------------------------- runs


async def test_consecutive_days_grow_the_streak_and_a_day_counts_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, period="DAILY", freezeDays=0, milestones=milestones((3, 20), (7, 50)))
    await till.buy(at=days_ago(3, time(8)))
    await till.buy(at=days_ago(3, time(20)))
    await till.buy(at=days_ago(2))
    await process_all(in_utc(settings), redis)
    # Yesterday is missed so far, and there is no freeze: as of today, the run is over.
    assert await streak(gql, alice) == seen(0, 2, 0, on(2), next_milestone=(3, 20))

    # Until yesterday's purchases arrive (a till sending its day late, say): they continue the run.

    await till.buy(at=days_ago(1, time(9)))
    await till.buy(at=days_ago(1, time(10)))
    await process_all(in_utc(settings), redis)

    assert await streak(gql, alice) == seen(3, 3, 0, on(1), next_milestone=(7, 50))
    assert await streak_rewards(gql, alice) == [(20, days(3))]
    assert await streak_keys(alice) == [f"streak:{alice.id}:{on(3)}:3"]


async def test_an_activity_today_keeps_the_run_alive_and_extends_it(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, freezeDays=0)
    await till.buy(at=days_ago(1))
    await process_all(in_utc(settings), redis)
    # Yesterday's run is alive today: today is not missed until it is over.
    assert await streak(gql, alice) == seen(1, 1, 0, on(1))

    await till.buy()
    await process_all(in_utc(settings), redis)

    assert await streak(gql, alice) == seen(2, 2, 0, on(0))


async def test_a_gap_within_the_freezes_keeps_the_run_and_spends_a_freeze(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    bob = await f.customer(gql)
    bobs_till = Till(gql, till.key, bob)
    await configure(gql, marketer, freezeDays=1, milestones=milestones((3, 20)))
    await till.buy(at=days_ago(3))
    await till.buy(at=days_ago(2))
    await bobs_till.buy(at=days_ago(2))
    await bobs_till.buy(at=days_ago(1))
    await process_all(in_utc(settings), redis)

    # Alice missed yesterday: her freeze is spent on it; Bob, active yesterday, has his.
    assert await streak(gql, alice) == seen(2, 2, 0, on(2), freeze_days=1, next_milestone=(3, 20))
    assert await streak(gql, bob) == seen(2, 2, 1, on(1), freeze_days=1, next_milestone=(3, 20))

    await till.buy()
    await process_all(in_utc(settings), redis)

    # The missed day adds nothing to the length.
    assert await streak(gql, alice) == seen(3, 3, 0, on(0), freeze_days=1)
    assert await streak_rewards(gql, alice) == [(20, days(3))]
    assert await streak_rewards(gql, bob) == []


async def test_a_gap_beyond_the_freezes_restarts_at_one_and_keeps_the_best(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, freezeDays=1, milestones=milestones((2, 5), (3, 20)))
    for n in (7, 6, 5):
        await till.buy(at=days_ago(n))
    # Days 4 and 3 missed: two, one more than the allowance.
    await till.buy(at=days_ago(2))
    await till.buy(at=days_ago(1))

    await process_all(in_utc(settings), redis)

    assert await streak(gql, alice) == seen(2, 3, 1, on(1), freeze_days=1, next_milestone=(3, 20))
    # Each milestone once per run: the new run reached 2 again and is rewarded for it.
    assert await streak_rewards(gql, alice) == [(5, days(2)), (20, days(3)), (5, days(2))]
    assert await streak_keys(alice) == sorted(
        [f"streak:{alice.id}:{on(7)}:2", f"streak:{alice.id}:{on(7)}:3", f"streak:{alice.id}:{on(2)}:2"]
    )


async def test_freezes_are_an_allowance_per_run_not_per_gap(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, freezeDays=2)
    # Gaps of one day each: the first two are frozen, the third ends the run.
    for n in (8, 6, 4, 2, 1):
        await till.buy(at=days_ago(n))
    await process_all(in_utc(settings), redis)

    assert await streak(gql, alice) == seen(2, 3, 2, on(1), freeze_days=2)


async def test_late_events_are_ignored(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, freezeDays=0)
    await till.buy(at=days_ago(1))
    await process_all(in_utc(settings), redis)

    # Recorded after yesterday's was counted: it would have made a run of 2, but the state keeps no history.
    await till.buy(at=days_ago(2))
    await till.buy(at=days_ago(1, time(6)))  # earlier on the last active day: that day is still the latest
    assert await process_all(in_utc(settings), redis) == ["processed", "processed"]

    assert await streak(gql, alice) == seen(1, 1, 0, on(1))


# ------------------------------------------------------------------------------------------------ weeks


async def test_a_weekly_streak_counts_iso_weeks(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, alice, till = await setup(gql)
    bob = await f.customer(gql)
    bobs_till = Till(gql, till.key, bob)
    await configure(gql, marketer, period="WEEKLY", freezeDays=0, milestones=milestones((3, 30)))
    monday = datetime.now(UTC).date().weekday()  # days since this week's Monday
    # Alice: the Sunday three weeks back, the next day (a Monday: the next week), twice last week.
    for n in (monday + 15, monday + 14, monday + 5, monday + 4):
        await till.buy(at=days_ago(n))
    # Bob: three weeks back and last week, none in between.
    await bobs_till.buy(at=days_ago(monday + 16))
    await bobs_till.buy(at=days_ago(monday + 3))

    await process_all(in_utc(settings), redis)

    assert await streak(gql, alice) == seen(3, 3, 0, on(monday + 4), period="WEEKLY")
    assert await streak(gql, bob) == seen(1, 1, 0, on(monday + 3), period="WEEKLY", next_milestone=(3, 30))
    assert await streak_rewards(gql, alice) == [(30, "Streak milestone: 3 weeks in a row")]
    first_week = date.fromisoformat(on(monday + 15)).isocalendar()
    assert await streak_keys(alice) == [f"streak:{alice.id}:{first_week.year}-W{first_week.week:02d}:3"]


async def test_a_weekly_run_is_alive_until_a_whole_week_is_missed(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    bob = await f.customer(gql)
    bobs_till = Till(gql, till.key, bob)
    await configure(gql, marketer, period="WEEKLY", freezeDays=0)
    monday = datetime.now(UTC).date().weekday()
    await till.buy(at=days_ago(monday + 7))  # last week's Monday
    await bobs_till.buy(at=days_ago(monday + 8))  # the Sunday before it: the whole of last week missed

    await process_all(in_utc(settings), redis)

    assert await streak(gql, alice) == seen(1, 1, 0, on(monday + 7), period="WEEKLY")
    assert await streak(gql, bob) == seen(0, 1, 0, on(monday + 8), period="WEEKLY")


# -------------------------------------------------------------------------------------------------- DST

DST_CHANGES = {
    # Paris moves to CEST on 2026-03-29 (a 23-hour day) and back to CET on 2026-10-25 (a 25-hour day). Each
    # list is four Paris days in a row, some of them near local midnight: in UTC days, two fall on one day.
    "spring": [
        ("2026-03-28T22:30:00Z", "2026-03-28"),  # 23:30 CET
        ("2026-03-29T21:30:00Z", "2026-03-29"),  # 23:30 CEST, 23 hours later
        ("2026-03-29T22:30:00Z", "2026-03-30"),  # 00:30 CEST, still the 29th in UTC
        ("2026-03-30T22:15:00Z", "2026-03-31"),  # 00:15 CEST
    ],
    "autumn": [
        ("2026-10-24T21:30:00Z", "2026-10-24"),  # 23:30 CEST
        ("2026-10-25T22:30:00Z", "2026-10-25"),  # 23:30 CET, 25 hours later
        ("2026-10-25T23:30:00Z", "2026-10-26"),  # 00:30 CET, still the 25th in UTC
        ("2026-10-26T23:15:00Z", "2026-10-27"),  # 00:15 CET
    ],
}


@pytest.mark.parametrize("change", list(DST_CHANGES))
async def test_a_daily_streak_runs_through_a_dst_change_in_the_programme_timezone(
    change: str, gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    moments = DST_CHANGES[change]
    fixed_dates_usable(*(utc(m) for m, _ in moments))
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, freezeDays=0, milestones=milestones((4, 40)))
    for moment, _ in moments:
        await till.buy(at=utc(moment))

    await process_all(in_paris(settings), redis)

    # Over by now; its best and last day show it ran four Paris days without a break.
    first, last = moments[0][1], moments[-1][1]
    assert await streak(gql, alice) == seen(0, 4, 0, last, next_milestone=(4, 40))
    assert await streak_rewards(gql, alice) == [(40, days(4))]
    assert await streak_keys(alice) == [f"streak:{alice.id}:{first}:4"]


# ----------------------------------------------------------------------------------------- exactly once


async def test_processing_an_event_twice_rewards_its_milestone_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, milestones=milestones((2, 20)))
    await till.buy(at=days_ago(1))
    await process_all(in_utc(settings), redis)
    await till.buy()
    [event_id] = await unprocessed()
    ctx = task_ctx(in_utc(settings), redis)

    assert await process_event(ctx, event_id) == "processed"
    assert await process_event(ctx, event_id) == "already_processed"

    assert await streak(gql, alice) == seen(2, 2, 0, on(0))
    assert await streak_rewards(gql, alice) == [(20, days(2))]
    assert (await ledger(gql, alice))[0] == 2 * PURCHASE_POINTS + 20
    # One notification for it, queued with the reward and planned after commit (no device: the inbox only).
    key = f"streak:{alice.id}:{on(1)}:2"
    queued = await Notification.filter(customer_id=alice.id).values_list("key", "kind", "push_status")
    assert queued == [(key, "streak_milestone", "inbox_only")]


@pytest.mark.parametrize("with_challenge", [False, True], ids=["streak only", "with a challenge"])
async def test_concurrent_events_of_one_customer_reach_a_milestone_once(
    with_challenge: bool, gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, milestones=milestones((3, 20)))
    if with_challenge:
        # Completed in the same race: its reward locks the balance before the milestone's does.
        await challenge(gql, marketer, rule(count_step("purchase", 4)))
    await till.buy(at=days_ago(2))
    await till.buy(at=days_ago(1))
    await process_all(in_utc(settings), redis)
    for _ in range(3):
        await till.buy()
    await track(gql, alice, "check_in", "door-1")
    await track(gql, alice, "share", "post-1")  # no activity: takes no streak lock
    event_ids = await unprocessed()
    assert len(event_ids) == 5
    ctx = task_ctx(in_utc(settings), redis)

    outcomes = await asyncio.gather(*(process_event(ctx, event_id) for event_id in event_ids))

    assert outcomes == ["processed"] * 5
    assert await streak(gql, alice) == seen(3, 3, 0, on(0))
    assert await streak_rewards(gql, alice) == [(20, days(3))]
    balance, entries = await ledger(gql, alice)
    challenge_reward = 50 if with_challenge else 0
    assert balance == 5 * PURCHASE_POINTS + 20 + challenge_reward
    assert sorted(e["kind"] for e in entries) == ["BONUS"] * (2 if with_challenge else 1) + ["EARN"] * 5

    again = await asyncio.gather(*(process_event(ctx, event_id) for event_id in event_ids))
    assert again == ["already_processed"] * 5
    assert (await ledger(gql, alice))[0] == balance


async def test_concurrent_customers_keep_their_own_streaks(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    bob = await f.customer(gql)
    bobs_till = Till(gql, till.key, bob)
    await configure(gql, marketer, milestones=milestones((2, 20)))
    await till.buy(at=days_ago(1))
    await process_all(in_utc(settings), redis)
    # Events of one customer on different days must be processed in order (a late one is ignored): the race
    # is between today's events.
    await till.buy()
    await till.buy()
    await bobs_till.buy()
    await bobs_till.buy()
    ctx = task_ctx(in_utc(settings), redis)

    outcomes = await asyncio.gather(*(process_event(ctx, event_id) for event_id in await unprocessed()))

    assert outcomes == ["processed"] * 4
    assert await streak(gql, alice) == seen(2, 2, 0, on(0))
    assert await streak(gql, bob) == seen(1, 1, 0, on(0), next_milestone=(2, 20))
    assert await streak_rewards(gql, alice) == [(20, days(2))]
    assert await streak_rewards(gql, bob) == []


# -------------------------------------------------------------------------------------------- read side


async def test_a_long_absence_shows_no_current_run_and_keeps_the_best(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    bob, carol = await f.customer(gql), await f.customer(gql)
    await configure(gql, marketer, freezeDays=2, milestones=milestones((3, 20)))
    for n in (20, 19, 18):
        await till.buy(at=days_ago(n))
    # Bob's last day is 3 days back: two days missed, both frozen. Carol's is 4 back: three missed.
    for customer, last in ((bob, 3), (carol, 4)):
        customer_till = Till(gql, till.key, customer)
        await customer_till.buy(at=days_ago(last + 1))
        await customer_till.buy(at=days_ago(last))

    await process_all(in_utc(settings), redis)

    # No job ended Alice's run: the read side sees it is over, and a new run would have both freezes.
    assert await streak(gql, alice) == seen(0, 3, 2, on(18), freeze_days=2, next_milestone=(3, 20))
    assert await streak(gql, bob) == seen(2, 2, 0, on(3), freeze_days=2, next_milestone=(3, 20))
    assert await streak(gql, carol) == seen(0, 2, 2, on(4), freeze_days=2, next_milestone=(3, 20))


async def test_a_customer_without_activity_sees_an_empty_streak(gql: GraphQL) -> None:
    marketer, alice, _ = await setup(gql)
    await configure(gql, marketer, freezeDays=1, milestones=milestones((3, 20)))

    assert await streak(gql, alice) == seen(0, 0, 1, None, freeze_days=1, next_milestone=(3, 20))


# ---------------------------------------------------------------------------------------- what counts


async def test_only_the_activity_types_count(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, alice, _ = await setup(gql)
    await configure(gql, marketer)
    await track(gql, alice, "share", "post-1")
    await process_all(in_utc(settings), redis)
    assert await streak(gql, alice) == seen(0, 0, 0, None)

    await track(gql, alice, "check_in", "door-1")
    await process_all(in_utc(settings), redis)
    assert await streak(gql, alice) == seen(1, 1, 0, on(0))


async def test_marketers_choose_the_activity_types(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, activityTypes=["share"])
    await till.buy(at=days_ago(1))
    await track(gql, alice, "check_in", "door-1")
    await process_all(in_utc(settings), redis)
    assert await streak(gql, alice) == seen(0, 0, 0, None)

    await track(gql, alice, "share", "post-1")
    await process_all(in_utc(settings), redis)
    assert await streak(gql, alice) == seen(1, 1, 0, on(0))


async def test_nothing_counts_without_an_active_streak(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    assert (await gql(STREAK, token=alice.token))["streak"] is None
    await till.buy(at=days_ago(2))
    await process_all(in_utc(settings), redis)

    await configure(gql, marketer, active=False)
    assert (await gql(STREAK, token=alice.token))["streak"] is None
    await till.buy(at=days_ago(1))
    await process_all(in_utc(settings), redis)

    await configure(gql, marketer, active=True)
    assert await streak(gql, alice) == seen(0, 0, 0, None)
    await till.buy()
    await process_all(in_utc(settings), redis)
    assert await streak(gql, alice) == seen(1, 1, 0, on(0))


async def test_changing_the_period_starts_every_run_afresh(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, period="DAILY")
    await till.buy(at=days_ago(1))
    await till.buy()
    await process_all(in_utc(settings), redis)
    assert await streak(gql, alice) == seen(2, 2, 0, on(0))

    await configure(gql, marketer, period="WEEKLY")
    # Two days are not two weeks: the days' run and best are not shown as weeks.
    assert await streak(gql, alice) == seen(0, 0, 0, None, period="WEEKLY")
    await track(gql, alice, "check_in", "door-1")
    await process_all(in_utc(settings), redis)

    assert await streak(gql, alice) == seen(1, 1, 0, on(0), period="WEEKLY")


# --------------------------------------------------------------------------------------------- live


async def test_a_milestone_reward_is_pushed_live(
    server: str, gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await configure(gql, marketer, milestones=milestones((2, 20)))
    await till.buy(at=days_ago(1))
    await till.buy()

    async with graphql_ws(server) as ws:
        await init(ws, bearer(alice.token))
        await subscribe(ws, redis, alice.id)
        await process_all(in_utc(settings), redis)

        message = await receive(ws)
        assert message["payload"]["data"]["pointsChanged"] == {
            "balance": 2 * PURCHASE_POINTS + 20,
            "delta": 20,
            "reason": "STREAK",
        }
        await nothing_arrives(ws)
