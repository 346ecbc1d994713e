"""Leaderboards, through the API and the worker's tasks: ranks and ties, pages, around-me, privacy, refunds,
seasons (a weekly reset across a DST change, closing twice), rebuilds, and the live top's throttle.

Purchases are recorded over GraphQL with an API key and processed by the worker's `process_event` task
(`process_all`); the boards are read over GraphQL. Purchases earn 1 point per euro.
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.factory import create_app
from app.settings import Settings
from game.customers.models import Customer
from game.ledger.models import LedgerEntry
from game.notifications.models import Notification
from tests import factories as f
from tests.challenge_helpers import process_all, published_challenge
from tests.graphql import GraphQL
from tests.processes import TESSERA, run_tessera
from tests.schema.test_subscriptions import bearer, graphql_ws, init, receive, send
from tests.servers import serving
from tests.workers.conftest import wait_until
from tests.workers.test_challenge_evaluation import Till, fixed_dates_usable, in_paris, utc
from workers.tasks import close_leaderboard_seasons, requeue_unprocessed

LONG_AGO = "2026-01-01T00:00:00+00:00"
CREATE = """
mutation($input: LeaderboardInput!) {
  createLeaderboard(input: $input) {
    key title metric period season seasonEndsAt prizes { fromRank toRank points }
  }
}
"""
PAGE = """
query($key: String!, $first: Int, $after: String, $season: String) {
  leaderboard(key: $key, first: $first, after: $after, season: $season) {
    entries { rank score displayName isMe } total pageInfo { hasNextPage endCursor }
  }
}
"""
AROUND = "query($key: String!, $r: Int) { aroundMe(key: $key, radius: $r) { rank score displayName isMe } }"
MY_RANK = "query($key: String!) { myRank(key: $key) { rank score displayName isMe } }"
RESULTS = (
    "query($key: String!, $s: String!) { seasonResults(key: $key, season: $s) { rank score displayName } }"
)
OPT_OUT = "mutation($o: Boolean!) { setLeaderboardOptOut(optOut: $o) }"
UPSERT_ECO = "mutation($input: EcoActionTypeInput!) { upsertEcoActionType(input: $input) { code } }"
RECORD_ECO = "mutation($input: RecordEcoActionInput!) { recordEcoAction(input: $input) { co2eGrams } }"


async def board(gql: GraphQL, marketer: str, key: str = "points", **overrides: Any) -> dict[str, Any]:
    data = {
        "key": key,
        "title": "Top earners",
        "metric": "POINTS_EARNED",
        "period": "ALL_TIME",
        "startsAt": LONG_AGO,
    }
    data.update(overrides)
    return dict((await gql(CREATE, {"input": data}, token=marketer))["createLeaderboard"])


class Shop:
    """Customers and a till for each; purchases earn 1 point per euro."""

    def __init__(self, gql: GraphQL, key: str) -> None:
        self.gql, self.key = gql, key
        self.tills: dict[str, Till] = {}

    async def customer(self, name: str) -> f.Customer:
        customer = await f.customer(self.gql, displayName=name)
        self.tills[customer.id] = Till(self.gql, self.key, customer)
        return customer

    async def buy(self, customer: f.Customer, euros: int, at: datetime | None = None) -> None:
        await self.tills[customer.id].buy(euros * 100, at=at)


async def shop(gql: GraphQL) -> tuple[str, Shop]:
    marketer = await f.marketer_token(gql)
    await f.earn_rule(points_per_unit=1)
    return marketer, Shop(gql, await f.api_key())


def ago(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def rows(page: dict[str, Any]) -> list[tuple[int, int, str]]:
    return [(e["rank"], e["score"], e["displayName"]) for e in page["entries"]]


async def test_equal_scores_share_a_rank_listed_in_the_order_reached(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, s = await shop(gql)
    await board(gql, marketer)
    ann, bob, cat, dan = [await s.customer(n) for n in ("Ann", "Bob", "Cat", "Dan")]
    await s.buy(dan, 10, ago(50))
    await s.buy(cat, 20, ago(30))  # Cat reaches 20 after Bob
    await s.buy(bob, 20, ago(40))
    await s.buy(ann, 30, ago(20))
    await process_all(settings, redis)

    page = (await gql(PAGE, {"key": "points"}, token=cat.token))["leaderboard"]
    assert rows(page) == [(1, 30, "Ann"), (2, 20, "Bob"), (2, 20, "Cat"), (4, 10, "Dan")]
    assert [e["isMe"] for e in page["entries"]] == [False, False, True, False]
    assert page["total"] == 4
    mine = (await gql(MY_RANK, {"key": "points"}, token=cat.token))["myRank"]
    assert mine == {"rank": 2, "score": 20, "displayName": "Cat", "isMe": True}

    # Bob moves up to 30: he reached it after Ann, so he is listed after her, with her rank.
    await s.buy(bob, 10, ago(10))
    await process_all(settings, redis)
    page = (await gql(PAGE, {"key": "points"}, token=cat.token))["leaderboard"]
    assert rows(page) == [(1, 30, "Ann"), (1, 30, "Bob"), (3, 20, "Cat"), (4, 10, "Dan")]


async def test_pages_follow_each_other_with_ranks_across_pages(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, s = await shop(gql)
    await board(gql, marketer)
    people = [await s.customer(f"P{i}") for i in range(5)]
    for i, (person, euros) in enumerate(zip(people, (50, 40, 40, 40, 10), strict=True)):
        await s.buy(person, euros, ago(50 - i))
    await process_all(settings, redis)

    seen = []
    after = None
    pages = 0
    while True:
        page = (await gql(PAGE, {"key": "points", "first": 2, "after": after}, token=people[0].token))[
            "leaderboard"
        ]
        pages += 1
        assert page["total"] == 5
        seen += rows(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [(1, 50, "P0"), (2, 40, "P1"), (2, 40, "P2"), (2, 40, "P3"), (5, 10, "P4")]
    bad = await gql.code(PAGE, {"key": "points", "after": "nonsense"}, token=people[0].token)
    assert bad == "BAD_USER_INPUT"
    assert await gql.code(PAGE, {"key": "nope"}, token=people[0].token) == "NOT_FOUND"
    assert await gql.code(PAGE, {"key": "points", "first": 101}, token=people[0].token) == "BAD_USER_INPUT"


async def test_around_me_at_the_top_the_bottom_and_unranked(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, s = await shop(gql)
    await board(gql, marketer)
    people = [await s.customer(f"P{i}") for i in range(6)]
    for i, person in enumerate(people):
        await s.buy(person, 60 - 10 * i, ago(60 - i))
    await process_all(settings, redis)
    outsider = await s.customer("Out")

    first = (await gql(AROUND, {"key": "points", "r": 2}, token=people[0].token))["aroundMe"]
    assert [(e["rank"], e["displayName"], e["isMe"]) for e in first] == [
        (1, "P0", True),
        (2, "P1", False),
        (3, "P2", False),
    ]
    last = (await gql(AROUND, {"key": "points", "r": 2}, token=people[5].token))["aroundMe"]
    assert [(e["rank"], e["displayName"], e["isMe"]) for e in last] == [
        (4, "P3", False),
        (5, "P4", False),
        (6, "P5", True),
    ]
    middle = (await gql(AROUND, {"key": "points", "r": 1}, token=people[3].token))["aroundMe"]
    assert [e["displayName"] for e in middle] == ["P2", "P3", "P4"]
    assert (await gql(AROUND, {"key": "points"}, token=outsider.token))["aroundMe"] == []
    assert (await gql(MY_RANK, {"key": "points"}, token=outsider.token))["myRank"] is None


async def test_opting_out_hides_at_once_from_customers_not_marketers_and_back(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, s = await shop(gql)
    await board(gql, marketer)
    await board(gql, marketer, "weekly", period="WEEKLY")
    ann, bob = await s.customer("Ann"), await s.customer("Bob")
    # An account imported without a display name (registering requires one): boards show a pseudonym.
    await Customer.filter(id=bob.id).update(display_name="")
    await s.buy(ann, 30, ago(20))
    await s.buy(bob, 20, ago(10))
    await process_all(settings, redis)
    page = (await gql(PAGE, {"key": "points"}, token=ann.token))["leaderboard"]
    pseudonym = page["entries"][1]["displayName"]
    assert pseudonym
    assert pseudonym != bob.email
    assert bob.id not in pseudonym

    assert (await gql(OPT_OUT, {"o": True}, token=ann.token))["setLeaderboardOptOut"] is True
    for key in ("points", "weekly"):
        page = (await gql(PAGE, {"key": key}, token=bob.token))["leaderboard"]
        assert rows(page) == [(1, 20, pseudonym)]
    assert (await gql(MY_RANK, {"key": "points"}, token=ann.token))["myRank"] is None
    # Marketers see the real board.
    real = (await gql(PAGE, {"key": "points"}, token=marketer))["leaderboard"]
    assert rows(real) == [(1, 30, "Ann"), (2, 20, pseudonym)]

    # A purchase while opted out moves the score but does not bring her back.
    await s.buy(ann, 5, ago(5))
    await process_all(settings, redis)
    assert rows((await gql(PAGE, {"key": "points"}, token=bob.token))["leaderboard"]) == [(1, 20, pseudonym)]

    assert (await gql(OPT_OUT, {"o": False}, token=ann.token))["setLeaderboardOptOut"] is False
    for key in ("points", "weekly"):
        page = (await gql(PAGE, {"key": key}, token=bob.token))["leaderboard"]
        assert rows(page) == [(1, 35, "Ann"), (2, 20, pseudonym)]


async def test_a_refund_lowers_points_earned_and_spending_does_not_count(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, s = await shop(gql)
    await board(gql, marketer)
    ann = await s.customer("Ann")
    await s.buy(ann, 50, ago(20))
    await process_all(settings, redis)
    assert (await gql(MY_RANK, {"key": "points"}, token=ann.token))["myRank"]["score"] == 50

    till = s.tills[ann.id]
    data = {"customerId": ann.id, "orderId": f"{ann.id[:8]}-1", "refundId": "R-1", "amountCents": 2000}
    await gql(f.REFUND_PURCHASE, {"input": data}, api_key=till.key)
    await process_all(settings, redis)
    assert (await gql(MY_RANK, {"key": "points"}, token=ann.token))["myRank"]["score"] == 30
    # A replayed event (a second worker, a retry) moves nothing.
    assert set(await process_all(settings, redis)) <= {"already_processed"}
    assert (await gql(MY_RANK, {"key": "points"}, token=ann.token))["myRank"]["score"] == 30


async def test_weekly_seasons_restart_at_local_monday_midnight_across_dst(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    # Europe/Paris leaves summer time on Sunday 25 October 2026: Monday 26 starts at 23:00 UTC on the 25th.
    before, after = utc("2026-10-25T22:30:00Z"), utc("2026-10-25T23:30:00Z")
    fixed_dates_usable(before, after)
    paris = in_paris(settings)
    marketer, s = await shop(gql)
    await board(gql, marketer, "weekly", period="WEEKLY", startsAt="2026-10-01T00:00:00Z")
    ann = await s.customer("Ann")
    await s.buy(ann, 10, before)  # Sunday 23:30 in Paris: week 43
    await s.buy(ann, 20, after)  # Monday 00:30 in Paris: week 44
    await process_all(paris, redis)
    ctx = {"settings": paris, "redis": redis, "job_try": 1}
    assert await close_leaderboard_seasons(ctx) == 2

    w43 = (await gql(RESULTS, {"key": "weekly", "s": "2026-W43"}, token=ann.token))["seasonResults"]
    w44 = (await gql(RESULTS, {"key": "weekly", "s": "2026-W44"}, token=ann.token))["seasonResults"]
    assert w43 == [{"rank": 1, "score": 10, "displayName": "Ann"}]
    assert w44 == [{"rank": 1, "score": 20, "displayName": "Ann"}]
    # The live week starts empty.
    assert (await gql(PAGE, {"key": "weekly"}, token=ann.token))["leaderboard"]["total"] == 0


async def test_closing_a_season_twice_pays_the_prizes_once(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, s = await shop(gql)
    prizes = [{"fromRank": 1, "toRank": 1, "points": 100}, {"fromRank": 2, "toRank": 3, "points": 40}]
    await board(gql, marketer, "weekly", period="WEEKLY", prizes=prizes)
    people = [await s.customer(n) for n in ("Ann", "Bob", "Cat", "Dan", "Eve")]
    last_week = datetime.now(UTC) - timedelta(days=7)
    for person, euros, minutes in zip(people, (50, 30, 30, 30, 10), (1, 2, 3, 4, 5), strict=True):
        await s.buy(person, euros, last_week + timedelta(minutes=minutes))
    await process_all(settings, redis)
    last_key = f"{last_week.isocalendar().year}-W{last_week.isocalendar().week:02d}"

    ctx = {"settings": settings, "redis": redis, "job_try": 1}
    assert await close_leaderboard_seasons(ctx) == 1
    assert await close_leaderboard_seasons(ctx) == 0

    results = (await gql(RESULTS, {"key": "weekly", "s": last_key}, token=people[0].token))["seasonResults"]
    assert [(r["rank"], r["displayName"]) for r in results] == [
        (1, "Ann"), (2, "Bob"), (2, "Cat"), (2, "Dan"), (5, "Eve"),
    ]  # fmt: skip
    prizes_paid = await LedgerEntry.filter(award_key__startswith="leaderboard:").values_list(
        "customer_id", "delta"
    )
    paid = {str(cid): delta for cid, delta in prizes_paid}
    assert paid == {people[0].id: 100, people[1].id: 40, people[2].id: 40, people[3].id: 40}
    assert await Notification.filter(kind="leaderboard_prize").count() == 4
    # The past season is also a page of the board; the live one is empty.
    past = (await gql(PAGE, {"key": "weekly", "season": last_key}, token=marketer))["leaderboard"]
    assert past["total"] == 5
    assert (await gql(PAGE, {"key": "weekly"}, token=people[0].token))["leaderboard"]["total"] == 0
    assert await gql.code(RESULTS, {"key": "weekly", "s": "1999-W01"}, token=people[0].token) == "NOT_FOUND"


async def _board_state(redis: Redis) -> dict[str, Any]:
    keys = sorted(k.decode() for k in await redis.keys("lb:*") if b":rebuild:" not in k)
    state: dict[str, Any] = {}
    for key in keys:
        kind = (await redis.type(key)).decode()
        if kind == "zset":
            state[key] = await redis.zrevrange(key, 0, -1, withscores=True)
        elif kind == "hash":
            state[key] = await redis.hgetall(key)
        elif kind == "set":
            state[key] = sorted(await redis.smembers(key))
    return state


async def test_a_rebuilt_board_equals_the_incremental_one_and_comes_back_after_a_wipe(
    gql: GraphQL, settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    marketer, s = await shop(gql)
    await board(gql, marketer)
    await board(gql, marketer, "monthly", period="MONTHLY")
    people = [await s.customer(f"P{i}") for i in range(8)]
    for i, person in enumerate(people):
        await s.buy(person, 10 + (i % 3) * 10, ago(30 - i))
    await process_all(settings, redis)
    await gql(OPT_OUT, {"o": True}, token=people[1].token)
    ctx = {"settings": settings, "redis": redis, "job_try": 1}
    await requeue_unprocessed(ctx)  # marks the incremental boards ready
    incremental = await _board_state(redis)
    assert len(incremental["lb:points:all"]) == 7

    run = await run_tessera(settings, "leaderboards", "rebuild", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "rebuilt points: 7 member(s)" in run.stdout
    assert "100%" in run.stderr  # the progress bar
    assert await _board_state(redis) == incremental

    await redis.flushdb()
    assert (await gql(PAGE, {"key": "points"}, token=people[0].token))["leaderboard"]["total"] == 0
    await requeue_unprocessed(ctx)  # the sweeper
    restored = await _board_state(redis)
    # The names of opted-out customers, cached by the incremental mirror, are not needed back.
    assert {k: v for k, v in restored.items() if k != "lb:names"} == {
        k: v for k, v in incremental.items() if k != "lb:names"
    }
    page = (await gql(PAGE, {"key": "points"}, token=people[0].token))["leaderboard"]
    assert page["total"] == 7
    assert "P0" in {e["displayName"] for e in page["entries"]}


async def test_the_live_top_is_sent_at_most_once_a_second(
    server: str, gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, s = await shop(gql)
    await board(gql, marketer)
    ann, bob = await s.customer("Ann"), await s.customer("Bob")
    await s.buy(ann, 10, ago(10))
    await process_all(settings, redis)
    query = 'subscription { leaderboardChanged(key: "points") { rank score displayName isMe } }'
    async with graphql_ws(server) as ws:
        await init(ws, bearer(bob.token))
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": query}})
        first = await receive(ws)
        assert first["payload"]["data"]["leaderboardChanged"] == [
            {"rank": 1, "score": 10, "displayName": "Ann", "isMe": False}
        ]
        sent_at = time.monotonic()
        for _ in range(3):  # three changes in quick succession
            await s.buy(bob, 5, ago(5))
            await process_all(settings, redis)
        second = await receive(ws)
        waited = time.monotonic() - sent_at
        assert waited >= 0.9 * settings.leaderboard_throttle_s
        # The changes in between arrive together.
        assert second["payload"]["data"]["leaderboardChanged"] == [
            {"rank": 1, "score": 15, "displayName": "Bob", "isMe": True},
            {"rank": 2, "score": 10, "displayName": "Ann", "isMe": False},
        ]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 1.5)


async def test_board_queries_answer_service_unavailable_when_redis_is_down(
    gql: GraphQL, migrated: Settings, tmp_path: Path
) -> None:
    marketer, s = await shop(gql)
    await board(gql, marketer)
    ann = await s.customer("Ann")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis_server = await asyncio.create_subprocess_exec(
        str(TESSERA.with_name("redis-server")), "--port", str(port), "--save", "", "--appendonly", "no",
        "--dir", str(tmp_path), stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await wait_until(lambda: _answers(port), 10, "the throwaway Redis")
        down = migrated.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
        async with serving(create_app(down)) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            api = GraphQL(client)
            assert (await api(PAGE, {"key": "points"}, token=ann.token))["leaderboard"]["total"] == 0
            redis_server.terminate()
            await redis_server.wait()
            for query in (PAGE, MY_RANK, AROUND):
                assert await api.code(query, {"key": "points"}, token=ann.token) == "SERVICE_UNAVAILABLE"
            # Nothing else breaks: the board list and the customer's own account still answer.
            assert (await api("{ leaderboards { key } }", token=ann.token))["leaderboards"] == [
                {"key": "points"}
            ]
            assert (await api(f.ME, token=ann.token))["me"]["displayName"] == "Ann"
    finally:
        if redis_server.returncode is None:
            redis_server.kill()
            await redis_server.wait()


async def _answers(port: int) -> bool:
    client = Redis(host="127.0.0.1", port=port)
    try:
        return bool(await client.ping())
    except OSError:
        return False
    except RedisError:
        return False
    finally:
        await client.aclose()


async def test_co2e_and_challenge_boards_count_their_own_metric(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, s = await shop(gql)
    refill = {"code": "refill_cup", "label": {"en": "Refill cup"}, "co2eGramsPerUnit": 30, "pointsPerUnit": 5}
    await gql(UPSERT_ECO, {"input": refill}, token=marketer)
    partner = await f.api_key("partner", ["eco"])
    two_buys = {
        "ordered": False,
        "steps": [{"event": "purchase", "filters": [], "aggregate": "count", "target": 2}],
    }
    challenge = await published_challenge(gql, marketer, two_buys, startsAt=LONG_AGO)
    other = await published_challenge(gql, marketer, two_buys, startsAt=LONG_AGO, rewardPoints=0)
    await board(gql, marketer, "eco", metric="CO2E_SAVED")
    await board(gql, marketer, "done", metric="CHALLENGES_COMPLETED")
    await board(gql, marketer, "done-one", metric="CHALLENGES_COMPLETED", challengeId=challenge)
    ann = await s.customer("Ann")
    eco = {"customerId": ann.id, "type": "refill_cup", "quantity": 3, "idempotencyKey": "scan-1"}
    await gql(RECORD_ECO, {"input": eco}, api_key=partner)
    await s.buy(ann, 5, ago(3))
    await s.buy(ann, 5, ago(2))
    await process_all(settings, redis)

    async def score(key: str) -> int:
        return int((await gql(MY_RANK, {"key": key}, token=ann.token))["myRank"]["score"])

    assert await score("eco") == 90
    assert await score("done") == 2  # both challenges, the one worth no points included
    assert await score("done-one") == 1
    assert other != challenge
