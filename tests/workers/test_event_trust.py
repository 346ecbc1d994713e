"""Trust in events: a rule or the streak may count only what a till, a partner or the platform recorded,
not what customers declare themselves with trackEvent (which a customer cannot disguise as verified)."""

from __future__ import annotations

from redis.asyncio import Redis

from app.settings import Settings
from tests.challenge_helpers import process_all
from tests.graphql import GraphQL
from tests.workers.test_challenge_evaluation import challenge, count_step, in_utc, setup, track, values
from tests.workers.test_streaks import configure, milestones, streak


async def test_a_verified_only_rule_counts_purchases_not_declared_check_ins(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    trusted = await challenge(
        gql,
        marketer,
        {"steps": [count_step("check_in", 2), count_step("purchase", 2)], "verified_only": True},
    )
    open_to_all = await challenge(gql, marketer, {"steps": [count_step("check_in", 3)]})
    await track(gql, alice, "check_in", "c1")
    await track(gql, alice, "check_in", "c2", verified=True)  # an attribute cannot claim it
    await till.buy()
    await process_all(in_utc(settings), redis)

    assert await values(gql, alice, trusted) == [0, 1]
    assert await values(gql, alice, open_to_all) == [2]


async def test_a_verified_only_streak_ignores_declared_activity(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await configure(
        gql,
        marketer,
        period="DAILY",
        activityTypes=["purchase", "check_in"],
        milestones=milestones((3, 20)),
        verifiedOnly=True,
    )
    await track(gql, alice, "check_in", "c1", verified=True)
    await process_all(in_utc(settings), redis)
    assert (await streak(gql, alice))["current"] == 0

    await till.buy()
    await process_all(in_utc(settings), redis)
    assert (await streak(gql, alice))["current"] == 1
