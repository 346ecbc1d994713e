"""Badges, event by event: levels reached by a rule (rolling windows included) or by a challenge's grants,
each earned and rewarded once, shown locked with their progress until then.

Events are recorded over GraphQL and the worker's `process_event` task is run by hand, as in
test_challenge_evaluation.py, whose helpers these tests share.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from app.settings import Settings
from game.badges.models import BadgeAward
from game.ledger.models import LedgerEntry
from game.ledger.service import find_drift
from game.notifications.models import Notification
from tests import factories as f
from tests.badge_helpers import ARCHIVE_BADGE, level, my_badges, published_badge
from tests.challenge_helpers import process_all
from tests.graphql import GraphQL
from tests.schema.test_subscriptions import bearer, graphql_ws, init, receive, send
from tests.workers.conftest import wait_until
from tests.workers.test_challenge_evaluation import (
    Till,
    challenge,
    count_step,
    days_ago,
    in_utc,
    item,
    ledger,
    rule,
    setup,
    task_ctx,
    unprocessed,
    where,
)
from tests.workers.test_challenge_limits import SET_TAGS
from workers.tasks import deliver_notification, process_event, requeue_unprocessed

HOLDERS = "{ badgeDefinitions { key levels { holders } } }"
# The seed's "Acheteur Assidu", scaled down: bronze 3, silver 5, gold 7 purchases within 30 days.
ASSIDU_LEVELS = [level(3, "Bronze", 10), level(5, "Silver", 20), level(7, "Gold", 50)]


def within_30_days(target: int = 7) -> dict[str, Any]:
    return rule({**count_step("purchase", target), "within_days": 30})


async def badge_rewards(customer: f.Customer) -> list[tuple[str, int]]:
    rows = await LedgerEntry.filter(customer_id=customer.id, award_key__startswith="badge:").order_by("id")
    return [(row.reason, row.delta) for row in rows]


async def held_levels(customer: f.Customer) -> list[tuple[int, int]]:
    rows = await BadgeAward.filter(customer_id=customer.id).order_by("badge_id", "level")
    return [(row.badge_id, row.level) for row in rows]


async def test_levels_are_earned_in_turn_and_locked_ones_show_progress(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await published_badge(gql, marketer, "assidu", ASSIDU_LEVELS, within_30_days())

    before = (await my_badges(gql, alice.token))["assidu"]
    assert (before["level"], before["value"], before["nextTarget"]) == (0, 0, 3)
    assert [lv["earnedAt"] for lv in before["levels"]] == [None, None, None]

    for n in range(4):
        await till.buy(at=days_ago(4 - n))
    await process_all(in_utc(settings), redis)

    badge = (await my_badges(gql, alice.token))["assidu"]
    assert (badge["level"], badge["value"], badge["nextTarget"]) == (1, 4, 5)
    assert [lv["name"] for lv in badge["levels"]] == ["Bronze", "Silver", "Gold"]
    assert [lv["earnedAt"] is not None for lv in badge["levels"]] == [True, False, False]
    assert await badge_rewards(alice) == [("Badge earned: Assidu (Bronze)", 10)]

    for _ in range(3):
        await till.buy()
    await process_all(in_utc(settings), redis)

    badge = (await my_badges(gql, alice.token))["assidu"]
    assert (badge["level"], badge["value"], badge["nextTarget"]) == (3, 7, None)
    assert await badge_rewards(alice) == [
        ("Badge earned: Assidu (Bronze)", 10),
        ("Badge earned: Assidu (Silver)", 20),
        ("Badge earned: Assidu (Gold)", 50),
    ]
    balance, entries = await ledger(gql, alice)
    assert balance == sum(e["delta"] for e in entries) == 7 * 10 + 80
    assert await find_drift() == []


async def test_a_rolling_window_counts_only_its_last_days(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await published_badge(gql, marketer, "assidu", ASSIDU_LEVELS, within_30_days())
    # Two purchases 40 days ago, two inside the window: never three within 30 days.
    for days in (41, 40, 10, 1):
        await till.buy(at=days_ago(days))
    await process_all(in_utc(settings), redis)

    badge = (await my_badges(gql, alice.token))["assidu"]
    assert (badge["level"], badge["value"]) == (0, 2)
    assert await held_levels(alice) == []

    await till.buy()
    await process_all(in_utc(settings), redis)
    assert (await my_badges(gql, alice.token))["assidu"]["level"] == 1


async def test_the_window_forgets_old_days_without_new_events(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    await published_badge(gql, marketer, "assidu", ASSIDU_LEVELS, within_30_days())
    for days in (35, 34, 5):
        await till.buy(at=days_ago(days))
    await process_all(in_utc(settings), redis)

    # Progress was 2 when the last old purchase was processed; today only the recent one is in the window.
    badge = (await my_badges(gql, alice.token))["assidu"]
    assert (badge["level"], badge["value"]) == (0, 1)


async def test_one_event_can_reach_several_levels_and_each_is_rewarded(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    spend = rule({"event": "purchase", "aggregate": "sum", "field": "amount_cents", "target": 10_000})
    levels = [level(1000, "Bronze", 5), level(5000, "Silver", 15), level(10_000, "Gold", 30)]
    await published_badge(gql, marketer, "big-spender", levels, spend)

    await till.buy(6000)
    await process_all(in_utc(settings), redis)

    badge = (await my_badges(gql, alice.token))["big-spender"]
    assert (badge["level"], badge["value"], badge["nextTarget"]) == (2, 6000, 10_000)
    assert [delta for _, delta in await badge_rewards(alice)] == [5, 15]


async def test_a_rule_of_several_steps_is_one_level_earned_when_complete(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    sequence = rule(
        count_step("purchase", 1, where("category", "contains", "coffee")),
        count_step("purchase", 1, where("eco", "eq", True)),
        ordered=True,
    )
    await published_badge(gql, marketer, "eco-coffee", [level(1, "Done", 25)], sequence)

    await till.buy(items=[item("refill", eco=True)])  # the second step, before the first: does not count
    await till.buy(items=[item("coffee")])
    await process_all(in_utc(settings), redis)
    assert (await my_badges(gql, alice.token))["eco-coffee"]["level"] == 0

    await till.buy(items=[item("refill", eco=True)])
    await process_all(in_utc(settings), redis)
    badge = (await my_badges(gql, alice.token))["eco-coffee"]
    assert (badge["level"], badge["value"]) == (1, 1)
    assert await badge_rewards(alice) == [("Badge earned: Eco-Coffee", 25)]


async def test_a_challenge_grants_its_badge_once_per_completion(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    regular = await published_badge(
        gql, marketer, "regular", [level(1, "Fan"), level(3, "Devotee", 40)], None
    )
    await challenge(
        gql,
        marketer,
        rule(count_step("purchase", 1)),
        rewardBadgeId=regular,
        maxCompletionsPerPeriod=5,
        rewardPoints=0,
    )
    shown = await gql("{ challenges { rewardBadge { id key name icon } } }", token=alice.token)
    assert shown["challenges"] == [
        {"rewardBadge": {"id": regular, "key": "regular", "name": "regular", "icon": ""}}
    ]
    await till.buy()
    await process_all(in_utc(settings), redis)
    badge = (await my_badges(gql, alice.token))["regular"]
    assert (badge["level"], badge["value"], badge["nextTarget"]) == (1, 1, 3)

    await till.buy()
    await till.buy()
    await process_all(in_utc(settings), redis)
    badge = (await my_badges(gql, alice.token))["regular"]
    assert (badge["level"], badge["value"], badge["nextTarget"]) == (2, 3, None)
    assert await badge_rewards(alice) == [("Badge earned: Regular (Devotee)", 40)]


async def test_badges_follow_their_audience(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, alice, till = await setup(gql)
    bob = await f.customer(gql)
    await gql(SET_TAGS, {"id": bob.id, "tags": ["vip"]}, token=marketer)
    await published_badge(
        gql, marketer, "vip-regular", [level(1)], rule(count_step("purchase", 1)), audienceTags=["vip"]
    )

    assert "vip-regular" not in await my_badges(gql, alice.token)
    assert "vip-regular" in await my_badges(gql, bob.token)
    await till.buy()
    await Till(gql, till.key, bob).buy()
    await process_all(in_utc(settings), redis)

    assert await held_levels(alice) == []
    assert (await my_badges(gql, bob.token))["vip-regular"]["level"] == 1


async def test_an_archived_badge_keeps_its_levels_and_earns_no_more(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    badge_id = await published_badge(gql, marketer, "assidu", ASSIDU_LEVELS, within_30_days())
    for _ in range(3):
        await till.buy()
    await process_all(in_utc(settings), redis)
    await gql(ARCHIVE_BADGE, {"id": badge_id}, token=marketer)

    for _ in range(4):
        await till.buy()
    await process_all(in_utc(settings), redis)

    badge = (await my_badges(gql, alice.token))["assidu"]
    assert badge["level"] == 1
    assert await held_levels(alice) == [(int(badge_id), 1)]
    # A customer who never earned it no longer sees it.
    bob = await f.customer(gql)
    assert "assidu" not in await my_badges(gql, bob.token)


async def test_processing_twice_or_concurrently_earns_each_level_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    badge_id = await published_badge(gql, marketer, "assidu", ASSIDU_LEVELS, within_30_days())
    for _ in range(6):
        await till.buy()
    event_ids = await unprocessed()
    ctx = task_ctx(in_utc(settings), redis)

    outcomes = await asyncio.gather(*(process_event(ctx, event_id) for event_id in event_ids))
    again = await asyncio.gather(*(process_event(ctx, event_id) for event_id in event_ids))

    assert outcomes == ["processed"] * 6
    assert again == ["already_processed"] * 6
    assert await held_levels(alice) == [(int(badge_id), 1), (int(badge_id), 2)]
    # Marketers see who holds what: Alice at bronze and silver, nobody at gold.
    definitions = await gql(HOLDERS, token=marketer)
    assert definitions["badgeDefinitions"] == [
        {"key": "assidu", "levels": [{"holders": n} for n in (1, 1, 0)]}
    ]
    assert [delta for _, delta in await badge_rewards(alice)] == [10, 20]
    assert (await my_badges(gql, alice.token))["assidu"]["value"] == 6
    assert await find_drift() == []


async def test_rewards_queue_one_notification_each_and_delivery_runs_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    regular = await published_badge(gql, marketer, "regular", [level(1, "Fan", 5)], None)
    challenge_id = await challenge(gql, marketer, rule(count_step("purchase", 1)), rewardBadgeId=regular)
    await till.buy()
    [event_id] = await unprocessed()
    ctx = task_ctx(in_utc(settings), redis)
    await process_event(ctx, event_id)
    await process_event(ctx, event_id)

    rows = await Notification.filter(customer_id=alice.id).order_by("key")
    # process_event planned their delivery after its commit: no device, the inbox only.
    assert [(n.key, n.kind.value, n.push_status) for n in rows] == [
        (f"badge:{regular}:{alice.id}:1", "badge_earned", "inbox_only"),
        (f"challenge:{challenge_id}:{alice.id}:once", "challenge_completed", "inbox_only"),
    ]
    # One shape: what was earned, and its points.
    assert (rows[0].payload["badge_id"], rows[0].payload["level"]) == (int(regular), 1)
    assert (rows[1].payload["challenge_id"], rows[1].payload["points"]) == (int(challenge_id), 50)
    # Planning again (a replayed delivery job, the sweeper) finds them planned.
    assert [await deliver_notification(ctx, n.key) for n in rows] == ["already planned"] * 2
    assert await Notification.filter(customer_id=alice.id, sent_at=None).count() == 0


async def test_the_sweeper_hands_over_notifications_whose_job_was_lost(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    regular = await published_badge(gql, marketer, "regular", [level(1, "Fan")], None)
    await challenge(gql, marketer, rule(count_step("purchase", 1)), rewardBadgeId=regular)
    await till.buy()
    ctx = task_ctx(in_utc(settings), redis)
    await process_all(in_utc(settings), redis)
    keys = sorted(await Notification.filter(customer_id=alice.id).values_list("key", flat=True))
    assert len(keys) == 2
    # Never planned: Redis or the database went away between the commit and the planning.
    await Notification.filter(key__in=keys).update(sent_at=None, push_status=None)

    # Younger than requeue_after_s: their planning may still be on its way, so the sweeper leaves them.
    assert await requeue_unprocessed(ctx) == 0
    old = datetime.now(UTC) - timedelta(seconds=settings.requeue_after_s + 1)
    await Notification.filter(key=keys[0]).update(created_at=old)
    assert await requeue_unprocessed(ctx) == 1
    planned = await Notification.filter(key__in=keys).order_by("key").values_list("push_status", flat=True)
    assert [None if p is None else str(p) for p in planned] == ["inbox_only", None]
    assert await requeue_unprocessed(ctx) == 0


async def _until_listening(redis: Redis, channel: str) -> None:
    async def listening() -> bool:
        [(_, count)] = await redis.pubsub_numsub(channel)
        return int(count) == 1

    await wait_until(listening, 5, f"the server to listen on {channel}", interval_s=0.02)


async def test_progress_and_badge_levels_are_pushed_live(
    server: str, gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    challenge_id = await challenge(gql, marketer, rule(count_step("purchase", 2)))
    badge_id = await published_badge(gql, marketer, "assidu", ASSIDU_LEVELS, within_30_days())
    for _ in range(2):
        await till.buy()

    async with graphql_ws(server) as ws:
        await init(ws, bearer(alice.token))
        progress = "subscription { challengeProgress { challengeId title period values targets completed } }"
        await send(ws, {"id": "p", "type": "subscribe", "payload": {"query": progress}})
        earned = "subscription { badgeEarned { badgeId level points badgeName levelName icon } }"
        await send(ws, {"id": "b", "type": "subscribe", "payload": {"query": earned}})
        await _until_listening(redis, f"tessera:challenges:{alice.id}")
        await _until_listening(redis, f"tessera:badges:{alice.id}")
        await process_all(in_utc(settings), redis)
        assert (await my_badges(gql, alice.token))["assidu"]["level"] == 0  # 2 of 3: no level yet
        await till.buy()
        await process_all(in_utc(settings), redis)
        messages = [await receive(ws) for _ in range(3)]

    by_op: dict[str, list[dict[str, Any]]] = {"p": [], "b": []}
    for m in messages:
        assert m["type"] == "next", m
        by_op[m["id"]].append(next(iter(m["payload"]["data"].values())))
    # Alice reads French (the factory's locale): the texts come in her language.
    moved = {"challengeId": challenge_id, "title": "Habitué", "period": "once", "targets": [2]}
    assert by_op["p"] == [
        moved | {"values": [1], "completed": False},
        moved | {"values": [2], "completed": True},
    ]
    assert by_op["b"] == [
        {
            "badgeId": badge_id,
            "level": 1,
            "points": 10,
            "badgeName": "assidu",
            "levelName": "Bronze",
            "icon": "",
        }
    ]
