"""The challenge engine, event by event: aggregations, filters, steps, windows, periods, pauses, exactly once.

Events are recorded over GraphQL (purchases with an API key, app-side events with a customer's token) and the
worker's `process_event` task is run by hand (`process_all`), except in the last test, where a real
`tessera worker` process does it and the reward reaches the customer's `pointsChanged` subscription.

Purchases accept `occurredAt` up to a year back, which places events on chosen days: relative to today where
only the shape of the calendar matters, on fixed dates around the autumn 2026 DST change where the exact
local midnight does.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from app.settings import Settings
from game.challenges.models import ChallengeProgress
from game.events.models import Event
from game.ledger.models import LedgerEntry
from game.ledger.service import find_drift
from tests import factories as f
from tests.challenge_helpers import CHALLENGES, process_all, published_challenge
from tests.graphql import GraphQL
from tests.schema.test_subscriptions import bearer, graphql_ws, init, receive, subscribe
from tests.workers.conftest import Workers, wait_until
from workers.tasks import process_event

PARIS = "Europe/Paris"
REWARD = 50
REWARD_REASON = "Challenge completed: Regular"  # the English title of challenge_helpers.challenge_input
PAUSE = "mutation($id: ID!) { pauseChallenge(id: $id) { id status } }"
PUBLISH = "mutation($id: ID!) { publishChallenge(id: $id) { id status } }"
TRACK = """
mutation($type: String!, $key: String!, $attributes: JSON) {
  trackEvent(type: $type, idempotencyKey: $key, attributes: $attributes) { eventId duplicate }
}
"""
# Long before any event of these tests, so that only the tests about windows are about windows.
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- helpers


def count_step(event: str = "purchase", target: int = 10, *filters: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, "filters": list(filters), "aggregate": "count", "target": target}


def rule(*steps: dict[str, Any], ordered: bool = False) -> dict[str, Any]:
    return {"ordered": ordered, "steps": list(steps)}


def where(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def item(category: str | None = None, eco: bool = False, sku: str = "SKU-1") -> dict[str, Any]:
    return {"sku": sku, "category": category, "quantity": 1, "unitPriceCents": 100, "eco": eco}


def days_ago(days: int, at: time = time(12)) -> datetime:
    """A moment `days` UTC days before today, at `at` UTC."""
    return datetime.combine(datetime.now(UTC).date() - timedelta(days=days), at, tzinfo=UTC)


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None
    return moment


def in_paris(settings: Settings) -> Settings:
    return settings.model_copy(update={"programme_timezone": PARIS})


def in_utc(settings: Settings) -> Settings:
    # Explicit, so that a TESSERA_PROGRAMME_TIMEZONE in the caller's environment changes nothing here.
    return settings.model_copy(update={"programme_timezone": "UTC"})


def fixed_dates_usable(*moments: datetime) -> None:
    """recordPurchase refuses occurredAt more than a year back: the fixed 2026 dates age out in late 2027."""
    now = datetime.now(UTC)
    if any(now - m > timedelta(days=360) for m in moments):
        pytest.skip("fixed dates of autumn 2026 are now over a year old: move them to a later DST change")
    assert all(m < now for m in moments), "these fixed dates must be in the past"


class Till:
    """Records purchases for one customer over GraphQL, with fresh order ids."""

    def __init__(self, gql: GraphQL, key: str, customer: f.Customer) -> None:
        self.gql, self.key, self.customer, self.n = gql, key, customer, 0

    async def buy(
        self,
        amount_cents: int = 1000,
        *,
        at: datetime | None = None,
        channel: str | None = None,
        items: list[dict[str, Any]] | None = None,
    ) -> None:
        self.n += 1
        extra: dict[str, Any] = {}
        if at is not None:
            extra["occurredAt"] = at.isoformat()
        if channel is not None:
            extra["channel"] = channel
        if items is not None:
            extra["items"] = items
        data = f.purchase(self.customer.id, f"{self.customer.id[:8]}-{self.n}", amount_cents, **extra)
        result = await self.gql(f.RECORD_PURCHASE, {"input": data}, api_key=self.key)
        assert result["recordPurchase"]["duplicate"] is False


async def setup(gql: GraphQL) -> tuple[str, f.Customer, Till]:
    """A marketer's token, a customer (locale fr) and a till for her; purchases earn 1 point per euro."""
    marketer = await f.marketer_token(gql)
    alice = await f.customer(gql)
    await f.earn_rule(points_per_unit=1)
    return marketer, alice, Till(gql, await f.api_key(), alice)


async def challenge(gql: GraphQL, marketer: str, the_rule: dict[str, Any], **overrides: Any) -> str:
    overrides.setdefault("startsAt", LONG_AGO.isoformat())
    return await published_challenge(gql, marketer, the_rule, **overrides)


async def track(gql: GraphQL, customer: f.Customer, type: str, key: str, **attributes: Any) -> None:
    variables = {"type": type, "key": key, "attributes": attributes or None}
    result = await gql(TRACK, variables, token=customer.token)
    assert result["trackEvent"]["duplicate"] is False


async def listed(gql: GraphQL, customer: f.Customer, view: str) -> dict[str, dict[str, Any]]:
    """The customer's challenges of one view, by challenge id."""
    rows = (await gql(CHALLENGES, {"status": view}, token=customer.token))["challenges"]
    by_id = {row["id"]: row for row in rows}
    assert len(by_id) == len(rows), rows
    return by_id


async def values(gql: GraphQL, customer: f.Customer, challenge_id: str) -> list[int]:
    """The step values of an ACTIVE challenge the customer has not completed."""
    active = await listed(gql, customer, "ACTIVE")
    assert challenge_id in active, f"challenge {challenge_id} is not active: {active}"
    return [step["value"] for step in active[challenge_id]["steps"]]


async def completed(gql: GraphQL, customer: f.Customer) -> list[tuple[str, str, list[int]]]:
    """(challenge id, period, step values) of every completed challenge, sorted."""
    rows = (await gql(CHALLENGES, {"status": "COMPLETED"}, token=customer.token))["challenges"]
    for row in rows:
        assert row["completedAt"] is not None
    return sorted((row["id"], row["period"], [s["value"] for s in row["steps"]]) for row in rows)


async def stored_progress(challenge_id: str, customer: f.Customer) -> dict[str, tuple[list[int], bool]]:
    """Every stored period of a challenge for a customer: step values and whether it is completed."""
    rows = await ChallengeProgress.filter(challenge_id=int(challenge_id), customer_id=customer.id)
    return {p.period: ([s["value"] for s in p.steps], p.completed_at is not None) for p in rows}


async def reward_keys(customer: f.Customer) -> list[str]:
    rows = await LedgerEntry.filter(customer_id=customer.id, award_key__startswith="challenge:")
    return sorted(row.award_key for row in rows)


async def ledger(gql: GraphQL, customer: f.Customer) -> tuple[int, list[dict[str, Any]]]:
    """The balance and every ledger entry (newest first) as the customer sees them."""
    me = (await gql(f.ME, {"first": 100}, token=customer.token))["me"]
    assert me["ledger"]["pageInfo"]["hasNextPage"] is False
    return me["points"]["balance"], [edge["node"] for edge in me["ledger"]["edges"]]


async def rewards(gql: GraphQL, customer: f.Customer) -> list[int]:
    """The deltas of the customer's challenge rewards, and a check that the ledger adds up."""
    balance, entries = await ledger(gql, customer)
    assert balance == sum(e["delta"] for e in entries)
    assert await find_drift() == []
    bonuses = [e for e in entries if e["kind"] == "BONUS"]
    assert all(e["reason"] == REWARD_REASON for e in bonuses), bonuses
    return [e["delta"] for e in bonuses]


async def unprocessed() -> list[int]:
    """The ids of the events no worker has processed yet, oldest first."""
    return [event.id for event in await Event.filter(processed_at=None).order_by("id")]


def task_ctx(settings: Settings, redis: Redis) -> dict[str, Any]:
    return {"settings": settings, "redis": redis, "job_try": 1}


# ------------------------------------------------------------------------------------------ aggregations

FILTER_CASES: dict[str, tuple[dict[str, Any], list[dict[str, Any]], int]] = {
    # name: (filter, purchases as Till.buy keyword arguments, how many match)
    "category contains": (
        where("category", "contains", "coffee"),
        [
            {"items": [item("coffee")]},
            {"items": [item("tea")]},
            {"items": [item("tea", sku="A"), item("iced-coffee", sku="B")]},
            {"items": [item(None)]},
            {},
        ],
        2,
    ),
    "amount_cents gte": (
        where("amount_cents", "gte", 1000),
        [{"amount_cents": 999}, {"amount_cents": 1000}, {"amount_cents": 2500}, {"amount_cents": 1}],
        2,
    ),
    "amount_cents lte": (
        where("amount_cents", "lte", 2000),
        [{"amount_cents": 2001}, {"amount_cents": 2000}, {"amount_cents": 1}, {"amount_cents": 99_999}],
        2,
    ),
    "channel eq": (
        where("channel", "eq", "app"),
        [{"channel": "app"}, {"channel": "store"}, {"channel": "app-beta"}, {}],
        1,
    ),
    "channel in": (
        where("channel", "in", ["app", "web"]),
        [{"channel": "app"}, {"channel": "web"}, {"channel": "store"}, {}],
        2,
    ),
    "eco eq true": (
        where("eco", "eq", True),
        [
            {"items": [item("refill", eco=True)]},
            {"items": [item("refill")]},
            {"items": [item("soap", sku="A"), item("refill", eco=True, sku="B")]},
            {},
        ],
        2,
    ),
}


@pytest.mark.parametrize("case", list(FILTER_CASES))
async def test_count_counts_only_the_purchases_passing_the_filter(
    case: str, gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    the_filter, purchases, matching = FILTER_CASES[case]
    marketer, alice, till = await setup(gql)
    challenge_id = await challenge(gql, marketer, rule(count_step("purchase", 10, the_filter)))
    for purchase in purchases:
        await till.buy(**purchase)

    assert await process_all(in_utc(settings), redis) == ["processed"] * len(purchases)

    assert await values(gql, alice, challenge_id) == [matching]


async def test_count_with_a_range_of_amounts_includes_both_bounds(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    between = count_step(
        "purchase", 2, where("amount_cents", "gte", 1000), where("amount_cents", "lte", 2000)
    )
    challenge_id = await challenge(gql, marketer, rule(between))
    for amount in (999, 2001, 1000):
        await till.buy(amount)
    await process_all(in_utc(settings), redis)
    assert await values(gql, alice, challenge_id) == [1]

    await till.buy(2000)
    await process_all(in_utc(settings), redis)

    assert await completed(gql, alice) == [(challenge_id, "once", [2])]
    assert await rewards(gql, alice) == [REWARD]


@pytest.mark.parametrize(("amounts", "case"), [((2000, 3000), "exactly"), ((2000, 4500), "over")])
async def test_sum_of_amounts_completes_at_the_target(
    amounts: tuple[int, int], case: str, gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    spend = {"event": "purchase", "aggregate": "sum", "field": "amount_cents", "target": 5000}
    challenge_id = await challenge(gql, marketer, rule(spend))

    await till.buy(amounts[0])
    await process_all(in_utc(settings), redis)
    assert await values(gql, alice, challenge_id) == [2000]

    await till.buy(amounts[1])
    await process_all(in_utc(settings), redis)

    # Shown at most at the target, whether the last purchase reached it exactly or went over it.
    assert await completed(gql, alice) == [(challenge_id, "once", [5000])]
    assert await rewards(gql, alice) == [REWARD]
    assert (await ledger(gql, alice))[0] == sum(amounts) // 100 + REWARD


async def test_sum_one_cent_short_does_not_complete(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, alice, till = await setup(gql)
    spend = {"event": "purchase", "aggregate": "sum", "field": "amount_cents", "target": 5000}
    challenge_id = await challenge(gql, marketer, rule(spend))
    await till.buy(2000)
    await till.buy(2999)

    await process_all(in_utc(settings), redis)

    assert await values(gql, alice, challenge_id) == [4999]
    assert await completed(gql, alice) == []
    assert await rewards(gql, alice) == []


async def test_distinct_days_count_a_day_once(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, alice, till = await setup(gql)
    three_days = {"event": "purchase", "aggregate": "distinct_days", "target": 3}
    challenge_id = await challenge(gql, marketer, rule(three_days))

    await till.buy(at=days_ago(20, time(8)))
    await till.buy(at=days_ago(20, time(20)))
    await till.buy(at=days_ago(20, time(23, 59)))
    await till.buy(at=days_ago(17))
    await process_all(in_utc(settings), redis)
    assert await values(gql, alice, challenge_id) == [2]

    await till.buy(at=days_ago(10))
    await process_all(in_utc(settings), redis)

    assert await completed(gql, alice) == [(challenge_id, "once", [3])]
    assert await rewards(gql, alice) == [REWARD]


async def test_distinct_days_are_days_of_the_programme_timezone(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    two_days = {"event": "purchase", "aggregate": "distinct_days", "target": 2}
    challenge_id = await challenge(gql, marketer, rule(two_days))

    # Two UTC days, one day in Paris (UTC+1 or +2): 23:30 UTC is already the next day there.
    await till.buy(at=days_ago(20, time(23, 30)))
    await till.buy(at=days_ago(19, time(10)))
    await process_all(in_paris(settings), redis)
    assert await values(gql, alice, challenge_id) == [1]

    await till.buy(at=days_ago(19, time(23, 30)))
    await process_all(in_paris(settings), redis)

    assert await completed(gql, alice) == [(challenge_id, "once", [2])]


async def test_consecutive_days_restart_after_a_gap_and_complete_at_the_target(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    streak = {"event": "purchase", "aggregate": "consecutive_days", "target": 3}
    challenge_id = await challenge(gql, marketer, rule(streak))

    # Days 0 and 1, a gap on day 2, then days 3 and 4 (twice on day 4: still one day): runs of 2 and 2.
    for day, at in [(30, time(12)), (29, time(12)), (27, time(12)), (26, time(8)), (26, time(20))]:
        await till.buy(at=days_ago(day, at))
    await process_all(in_utc(settings), redis)
    assert await values(gql, alice, challenge_id) == [2]
    assert await completed(gql, alice) == []

    await till.buy(at=days_ago(25))
    await process_all(in_utc(settings), redis)

    assert await completed(gql, alice) == [(challenge_id, "once", [3])]
    assert await rewards(gql, alice) == [REWARD]


async def test_consecutive_weeks_are_iso_weeks_starting_on_monday(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    streak = {"event": "purchase", "aggregate": "consecutive_weeks", "target": 3}
    challenge_id = await challenge(gql, marketer, rule(streak))
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday()) - timedelta(weeks=10)

    def on(week: int, weekday: int) -> datetime:
        day: date = monday + timedelta(weeks=week, days=weekday)
        return datetime.combine(day, time(12), tzinfo=UTC)

    # Sunday of week 0 then Monday of week 1: a day apart, two ISO weeks (a run of 2). Wednesday of week 1
    # adds nothing; week 2 is missed, so weeks 3 and 4 make a new run of 2, not 4.
    for week, weekday in [(0, 6), (1, 0), (1, 2), (3, 0), (4, 6)]:
        await till.buy(at=on(week, weekday))
    await process_all(in_utc(settings), redis)
    assert await values(gql, alice, challenge_id) == [2]

    await till.buy(at=on(5, 3))
    await process_all(in_utc(settings), redis)

    assert await completed(gql, alice) == [(challenge_id, "once", [3])]
    assert await rewards(gql, alice) == [REWARD]


async def test_a_sunday_and_the_next_saturday_are_two_consecutive_weeks(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    streak = {"event": "purchase", "aggregate": "consecutive_weeks", "target": 2}
    challenge_id = await challenge(gql, marketer, rule(streak))
    today = datetime.now(UTC).date()
    sunday = today - timedelta(days=today.weekday()) - timedelta(weeks=6, days=1)
    assert sunday.isoweekday() == 7

    # Monday then Sunday of one week: one week; had weeks started on Sunday, these would be two.
    await till.buy(at=datetime.combine(sunday - timedelta(days=6), time(12), tzinfo=UTC))
    await till.buy(at=datetime.combine(sunday, time(12), tzinfo=UTC))
    await process_all(in_utc(settings), redis)
    assert await values(gql, alice, challenge_id) == [1]

    await till.buy(at=datetime.combine(sunday + timedelta(days=6), time(12), tzinfo=UTC))
    await process_all(in_utc(settings), redis)

    assert await completed(gql, alice) == [(challenge_id, "once", [2])]


# ------------------------------------------------------------------------------------------------- steps

APP = where("channel", "eq", "app")
COFFEE = where("category", "contains", "coffee")


async def test_unordered_steps_progress_in_any_order_and_one_event_moves_two(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    steps = rule(count_step("purchase", 1, APP), count_step("purchase", 2, COFFEE), ordered=False)
    challenge_id = await challenge(gql, marketer, steps)

    await till.buy(channel="store", items=[item("coffee")])  # the second step first
    await process_all(in_utc(settings), redis)
    assert await values(gql, alice, challenge_id) == [0, 1]

    await till.buy(channel="app", items=[item("coffee")])  # both steps at once, completing the challenge
    await process_all(in_utc(settings), redis)

    assert await completed(gql, alice) == [(challenge_id, "once", [1, 2])]
    assert await rewards(gql, alice) == [REWARD]


async def test_ordered_steps_wait_for_the_previous_one_and_one_event_completes_one_step(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    steps = rule(count_step("purchase", 1, APP), count_step("purchase", 1, COFFEE), ordered=True)
    challenge_id = await challenge(gql, marketer, steps)

    await till.buy(channel="store", items=[item("coffee")])  # step 2's event, before step 1: ignored
    await process_all(in_utc(settings), redis)
    assert await values(gql, alice, challenge_id) == [0, 0]

    await till.buy(channel="app", items=[item("coffee")])  # matches both steps; completes only the first
    await process_all(in_utc(settings), redis)
    assert await values(gql, alice, challenge_id) == [1, 0]
    assert await rewards(gql, alice) == []

    await till.buy(channel="store", items=[item("coffee")])
    await process_all(in_utc(settings), redis)

    assert await completed(gql, alice) == [(challenge_id, "once", [1, 1])]
    assert await rewards(gql, alice) == [REWARD]


async def test_ordered_three_steps_of_one_kind_need_three_events(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    steps = rule(*(count_step("purchase", 1) for _ in range(3)), ordered=True)
    challenge_id = await challenge(gql, marketer, steps)

    await till.buy()
    await till.buy()
    await process_all(in_utc(settings), redis)
    assert await values(gql, alice, challenge_id) == [1, 1, 0]

    await till.buy()
    await process_all(in_utc(settings), redis)
    assert await completed(gql, alice) == [(challenge_id, "once", [1, 1, 1])]


# -------------------------------------------------------------------------------- custom event types


async def test_custom_events_count_with_attribute_filters(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    steps = rule(
        count_step("check_in", 3, where("store", "eq", "paris-11")),
        count_step("review", 1, where("stars", "gte", 4)),
    )
    challenge_id = await challenge(gql, marketer, steps)

    await track(gql, alice, "check_in", "c1", store="paris-11")
    await track(gql, alice, "check_in", "c2", store="lyon-2")
    await track(gql, alice, "check_in", "c3")  # no attributes at all
    await track(gql, alice, "check_in", "c4", store="paris-11", floor=2)
    await track(gql, alice, "review", "r1", stars=3)
    await track(gql, alice, "review", "r2", stars=5)
    await track(gql, alice, "share", "s1", store="paris-11")  # another type: no step of this challenge
    await till.buy()  # a purchase neither
    assert await process_all(in_utc(settings), redis) == ["processed"] * 8
    assert await values(gql, alice, challenge_id) == [2, 1]

    await track(gql, alice, "check_in", "c5", store="paris-11")  # the 5th check_in: the test's limit
    await process_all(in_utc(settings), redis)

    assert await completed(gql, alice) == [(challenge_id, "once", [3, 1])]
    assert await rewards(gql, alice) == [REWARD]


async def test_custom_event_attribute_in_filter(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, alice, _ = await setup(gql)
    steps = rule(count_step("check_in", 5, where("store", "in", ["paris-11", "paris-12"])))
    challenge_id = await challenge(gql, marketer, steps)

    for n, store in enumerate(["paris-11", "paris-12", "paris-13", "PARIS-11"]):
        await track(gql, alice, "check_in", f"k{n}", store=store)
    await process_all(in_utc(settings), redis)

    assert await values(gql, alice, challenge_id) == [2]


async def test_custom_event_filters_tell_booleans_from_numbers(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, _ = await setup(gql)
    steps = rule(
        count_step("check_in", 5, where("vip", "eq", True)),
        count_step("check_in", 5, where("floor", "in", [0, 2])),
    )
    challenge_id = await challenge(gql, marketer, steps)

    await track(gql, alice, "check_in", "k1", vip=True, floor=0)  # both steps
    await track(gql, alice, "check_in", "k2", vip=1, floor=False)  # neither: 1 is not true, false is not 0
    await process_all(in_utc(settings), redis)

    assert await values(gql, alice, challenge_id) == [1, 1]


# ---------------------------------------------------------------------------------- windows and periods


async def test_only_events_from_starts_at_and_before_ends_at_count(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    starts = days_ago(20, time(9, 30))
    ends = starts + timedelta(days=5)
    challenge_id = await challenge(
        gql,
        marketer,
        rule(count_step("purchase", 2)),
        startsAt=starts.isoformat(),
        endsAt=ends.isoformat(),
    )

    for at in (starts - timedelta(seconds=1), ends, ends + timedelta(hours=1), days_ago(1)):
        await till.buy(at=at)
    assert await process_all(in_utc(settings), redis) == ["processed"] * 4
    assert await stored_progress(challenge_id, alice) == {}

    await till.buy(at=starts)
    await till.buy(at=ends - timedelta(seconds=1))
    await process_all(in_utc(settings), redis)

    assert await stored_progress(challenge_id, alice) == {"once": ([2], True)}
    assert await completed(gql, alice) == [(challenge_id, "once", [2])]
    assert await rewards(gql, alice) == [REWARD]


async def test_daily_challenge_restarts_at_paris_midnight_across_the_dst_change(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    # 2026-10-25 03:00 CEST becomes 02:00 CET (01:00 UTC): that local day lasts 25 hours. Three purchases
    # complete a day; the period of each purchase shows in which day's count it lands.
    moments = {
        "2026-10-24T21:59:59Z": "2026-10-24",  # 23:59:59 CEST on the 24th
        "2026-10-24T22:00:00Z": "2026-10-25",  # local midnight (CEST): the 25th begins
        "2026-10-24T22:30:00Z": "2026-10-25",  # 00:30 CEST on the 25th
        "2026-10-25T22:30:00Z": "2026-10-25",  # 23:30 CET, still the 25th: completes it
        "2026-10-25T23:00:00Z": "2026-10-26",  # local midnight (CET): the 26th begins
        "2026-10-25T23:30:00Z": "2026-10-26",  # 00:30 CET on the 26th
        "2026-10-26T10:00:00Z": "2026-10-26",  # completes the 26th
        "2026-10-26T20:00:00Z": "2026-10-26",  # the 26th again, completed already: no second award
    }
    fixed_dates_usable(*map(utc, moments))
    marketer, alice, till = await setup(gql)
    challenge_id = await challenge(
        gql, marketer, rule(count_step("purchase", 3)), recurrence="DAILY", startsAt="2026-10-01T00:00:00Z"
    )
    for moment in moments:
        await till.buy(at=utc(moment))

    assert await process_all(in_paris(settings), redis) == ["processed"] * len(moments)

    assert await stored_progress(challenge_id, alice) == {
        "2026-10-24": ([1], False),
        "2026-10-25": ([3], True),
        "2026-10-26": ([3], True),
    }
    assert await completed(gql, alice) == [
        (challenge_id, "2026-10-25", [3]),
        (challenge_id, "2026-10-26", [3]),
    ]
    assert await rewards(gql, alice) == [REWARD, REWARD]
    assert await reward_keys(alice) == [
        f"challenge:{challenge_id}:{alice.id}:2026-10-25",
        f"challenge:{challenge_id}:{alice.id}:2026-10-26",
    ]


async def test_daily_periods_follow_the_programme_timezone_not_utc(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    # The same two events as above, 22:30 UTC on the 24th and on the 25th: one Paris day, two UTC days.
    moments = ["2026-10-24T22:30Z", "2026-10-25T22:30Z"]
    fixed_dates_usable(*map(utc, moments))
    marketer, alice, till = await setup(gql)
    challenge_id = await challenge(
        gql, marketer, rule(count_step("purchase", 2)), recurrence="DAILY", startsAt="2026-10-01T00:00:00Z"
    )
    for moment in moments:
        await till.buy(at=utc(moment))

    await process_all(in_utc(settings), redis)

    assert await stored_progress(challenge_id, alice) == {
        "2026-10-24": ([1], False),
        "2026-10-25": ([1], False),
    }
    assert await rewards(gql, alice) == []


async def test_weekly_periods_are_iso_weeks_of_the_programme_timezone(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    moments = {
        "2026-10-18T21:59:59Z": "2026-W42",  # Sunday the 18th, 23:59:59 CEST
        "2026-10-18T22:00:00Z": "2026-W43",  # Monday the 19th, local midnight (CEST)
        "2026-10-25T22:59:59Z": "2026-W43",  # Sunday the 25th, 23:59:59 CET: completes week 43
        "2026-10-25T23:00:00Z": "2026-W44",  # Monday the 26th, local midnight (CET)
    }
    fixed_dates_usable(*map(utc, moments))
    marketer, alice, till = await setup(gql)
    challenge_id = await challenge(
        gql, marketer, rule(count_step("purchase", 2)), recurrence="WEEKLY", startsAt="2026-10-01T00:00:00Z"
    )
    for moment in moments:
        await till.buy(at=utc(moment))

    await process_all(in_paris(settings), redis)

    assert await stored_progress(challenge_id, alice) == {
        "2026-W42": ([1], False),
        "2026-W43": ([2], True),
        "2026-W44": ([1], False),
    }
    assert await completed(gql, alice) == [(challenge_id, "2026-W43", [2])]
    assert await reward_keys(alice) == [f"challenge:{challenge_id}:{alice.id}:2026-W43"]


async def test_monthly_challenge_completes_once_per_month(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    moments = {
        "2026-10-05T10:00Z": "2026-10",
        "2026-10-31T22:30Z": "2026-10",  # 23:30 CET on the 31st: completes October
        "2026-10-31T22:59:59Z": "2026-10",  # October again, completed already: no second award
        "2026-10-31T23:00:00Z": "2026-11",  # local midnight (CET) on November 1st
        "2026-11-02T10:00Z": "2026-11",  # completes November
    }
    fixed_dates_usable(*map(utc, moments))
    marketer, alice, till = await setup(gql)
    challenge_id = await challenge(
        gql, marketer, rule(count_step("purchase", 2)), recurrence="MONTHLY", startsAt="2026-10-01T00:00:00Z"
    )
    for moment in moments:
        await till.buy(at=utc(moment))

    await process_all(in_paris(settings), redis)

    assert await stored_progress(challenge_id, alice) == {"2026-10": ([2], True), "2026-11": ([2], True)}
    assert await completed(gql, alice) == [(challenge_id, "2026-10", [2]), (challenge_id, "2026-11", [2])]
    assert await rewards(gql, alice) == [REWARD, REWARD]
    assert await reward_keys(alice) == [
        f"challenge:{challenge_id}:{alice.id}:2026-10",
        f"challenge:{challenge_id}:{alice.id}:2026-11",
    ]


async def test_a_one_off_challenge_awards_once_whatever_follows(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    challenge_id = await challenge(gql, marketer, rule(count_step("purchase", 1)))
    for days in (9, 5, 1):
        await till.buy(at=days_ago(days))

    await process_all(in_utc(settings), redis)

    assert await stored_progress(challenge_id, alice) == {"once": ([1], True)}
    assert await reward_keys(alice) == [f"challenge:{challenge_id}:{alice.id}:once"]
    assert await rewards(gql, alice) == [REWARD]


# ------------------------------------------------------------------------------------------------ pauses


async def test_a_paused_challenge_ignores_events(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, alice, till = await setup(gql)
    challenge_id = await challenge(gql, marketer, rule(count_step("purchase", 1)))
    paused = await gql(PAUSE, {"id": challenge_id}, token=marketer)
    assert paused["pauseChallenge"] == {"id": challenge_id, "status": "PAUSED"}

    await till.buy()
    assert await process_all(in_utc(settings), redis) == ["processed"]
    assert await stored_progress(challenge_id, alice) == {}
    assert await rewards(gql, alice) == []

    # Published again, it counts what comes next, not what happened while it was paused.
    await gql(PUBLISH, {"id": challenge_id}, token=marketer)
    assert await values(gql, alice, challenge_id) == [0]
    await till.buy()
    await process_all(in_utc(settings), redis)

    assert await completed(gql, alice) == [(challenge_id, "once", [1])]
    assert await rewards(gql, alice) == [REWARD]


# ------------------------------------------------------------------------------------------ exactly once


async def test_processing_an_event_twice_awards_once(gql: GraphQL, settings: Settings, redis: Redis) -> None:
    marketer, alice, till = await setup(gql)
    challenge_id = await challenge(gql, marketer, rule(count_step("purchase", 1)))
    await till.buy(1000)
    [event_id] = await unprocessed()
    ctx = task_ctx(in_utc(settings), redis)

    assert await process_event(ctx, event_id) == "processed"
    assert await process_event(ctx, event_id) == "already_processed"

    assert await stored_progress(challenge_id, alice) == {"once": ([1], True)}
    assert await rewards(gql, alice) == [REWARD]
    assert (await ledger(gql, alice))[0] == 10 + REWARD


async def test_concurrent_events_of_one_customer_award_exactly_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    events = 6
    marketer, alice, till = await setup(gql)
    exactly = await challenge(gql, marketer, rule(count_step("purchase", events)))
    beyond = await challenge(gql, marketer, rule(count_step("purchase", 100)))
    spend = {"event": "purchase", "aggregate": "sum", "field": "amount_cents", "target": 1_000_000}
    total = await challenge(gql, marketer, rule(spend))
    for n in range(events):
        await till.buy(1000 + n * 100)
    event_ids = await unprocessed()
    assert len(event_ids) == events
    ctx = task_ctx(in_utc(settings), redis)

    outcomes = await asyncio.gather(*(process_event(ctx, event_id) for event_id in event_ids))

    assert outcomes == ["processed"] * events
    assert await stored_progress(exactly, alice) == {"once": ([events], True)}
    # No lost update: every event moved the challenges it could not complete.
    assert await values(gql, alice, beyond) == [events]
    assert await values(gql, alice, total) == [sum(1000 + n * 100 for n in range(events))]
    assert await rewards(gql, alice) == [REWARD]
    balance, entries = await ledger(gql, alice)
    assert balance == sum(10 + n for n in range(events)) + REWARD
    assert len(entries) == events + 1

    # Replaying them all, concurrently again, changes nothing.
    again = await asyncio.gather(*(process_event(ctx, event_id) for event_id in event_ids))
    assert again == ["already_processed"] * events
    assert await rewards(gql, alice) == [REWARD]
    assert (await ledger(gql, alice))[0] == balance


async def test_concurrent_customers_each_complete_their_own_challenge(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, alice, alice_till = await setup(gql)
    bob = await f.customer(gql)
    bob_till = Till(gql, alice_till.key, bob)
    challenge_id = await challenge(gql, marketer, rule(count_step("purchase", 3)))
    for _ in range(3):
        await alice_till.buy()
        await bob_till.buy()
    await bob_till.buy()
    event_ids = await unprocessed()
    ctx = task_ctx(in_utc(settings), redis)

    outcomes = await asyncio.gather(*(process_event(ctx, event_id) for event_id in event_ids))

    assert outcomes == ["processed"] * 7
    assert await stored_progress(challenge_id, alice) == {"once": ([3], True)}
    assert await stored_progress(challenge_id, bob) == {"once": ([3], True)}
    assert await rewards(gql, alice) == [REWARD]
    assert await rewards(gql, bob) == [REWARD]
    assert await reward_keys(bob) == [f"challenge:{challenge_id}:{bob.id}:once"]


# ------------------------------------------------------------------------------ with a real worker process


@pytest.mark.slow
async def test_a_real_worker_completes_the_challenge_and_pushes_the_reward(
    server: str, gql: GraphQL, redis: Redis, workers: Workers
) -> None:
    marketer, alice, till = await setup(gql)
    challenge_id = await challenge(gql, marketer, rule(count_step("purchase", 3, COFFEE)))
    await workers.start()

    async with graphql_ws(server) as ws:
        await init(ws, bearer(alice.token))
        await subscribe(ws, redis, alice.id)

        for _ in range(3):
            await till.buy(1000, items=[item("coffee")])

        async def done() -> bool:
            return bool(await completed(gql, alice))

        await wait_until(done, 15, "the worker to complete the challenge", interval_s=0.1)
        assert await completed(gql, alice) == [(challenge_id, "once", [3])]

        # Three earn changes (pushed by the API) and the reward (pushed by the worker); the worker may push
        # its change before the API pushes the third purchase's.
        messages = [await receive(ws, timeout=15) for _ in range(4)]
    changes = [m["payload"]["data"]["pointsChanged"] for m in messages]
    assert all(m["type"] == "next" and m["id"] == "1" for m in messages), messages
    assert [c for c in changes if c["reason"] == "CHALLENGE"] == [
        {"balance": 3 * 10 + REWARD, "delta": REWARD, "reason": "CHALLENGE"}
    ]
    assert sorted(c["delta"] for c in changes if c["reason"] == "PURCHASE") == [10, 10, 10]
    assert await rewards(gql, alice) == [REWARD]
    assert (await ledger(gql, alice))[0] == 3 * 10 + REWARD
