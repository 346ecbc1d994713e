"""The `tessera` command, run as an operator would: a subprocess on the session's database and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from arq.constants import default_queue_name
from pydantic import ValidationError
from redis.asyncio import Redis

from app.settings import Settings
from game.demo import DEMO_PASSWORD, MARKETER_EMAIL
from game.events.models import Event
from game.events.queue import event_job_id
from game.ledger.models import LedgerEntry
from tests import factories as f
from tests.badge_helpers import BADGES
from tests.graphql import GraphQL
from tests.processes import Run, run_tessera
from workers.tasks import process_event

pytestmark = pytest.mark.slow

CUSTOMER_LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
MARKETER_LOGIN = "mutation($e: String!, $p: String!) { marketerLogin(email: $e, password: $p) { token } }"
STREAK_SETTINGS = "{ streakSettings { period freezeDays milestones { length rewardPoints } } }"
CONFIGURE_STREAK = "mutation($input: StreakSettingsInput!) { configureStreak(input: $input) { freezeDays } }"


Tessera = Callable[..., Awaitable[Run]]


@pytest.fixture
def tessera(settings: Settings, tmp_path: Path) -> Tessera:
    """`await tessera("create-api-key", "pos-1")`: runs the CLI on this session's database and Redis."""

    async def run(*args: str) -> Run:
        return await run_tessera(settings, *args, cwd=tmp_path)

    return run


async def _record_purchase(gql: GraphQL, key: str, order_id: str) -> str:
    """The error code of a purchase recorded with this key, or "OK"."""
    alice = await f.customer(gql)
    response = await gql.raw(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, order_id, 1000)}, api_key=key)
    body = response.json()
    if not body.get("errors"):
        assert body["data"]["recordPurchase"] == {"pointsAwarded": 100, "balance": 100, "duplicate": False}
        return "OK"
    [error] = body["errors"]
    return str(error.get("extensions", {}).get("code"))


async def test_created_api_key_records_purchases_until_revoked(gql: GraphQL, tessera: Tessera) -> None:
    await f.earn_rule(points_per_unit=10)

    created = await tessera("create-api-key", "pos-1")

    assert created.returncode == 0, created.stderr
    key = created.last_line
    assert key.startswith("tsk_"), created.stdout
    assert await _record_purchase(gql, key, "CLI-1") == "OK"

    revoked = await tessera("revoke-api-key", "pos-1")

    assert revoked.returncode == 0, revoked.stderr
    assert await _record_purchase(gql, key, "CLI-2") == "UNAUTHENTICATED"


async def test_revoking_an_unknown_key_name_fails(tessera: Tessera) -> None:
    await f.api_key("till-1")

    run = await tessera("revoke-api-key", "no-such-till")

    assert run.returncode == 1
    assert "revoked 0 key(s)" in run.stdout


async def test_created_marketer_can_log_in(gql: GraphQL, tessera: Tessera) -> None:
    run = await tessera("create-marketer", "m@example.com", "--password", "long enough pw")

    assert run.returncode == 0, run.stderr
    login = await gql(MARKETER_LOGIN, {"e": "m@example.com", "p": "long enough pw"})
    assert login["marketerLogin"]["token"]
    assert (
        await gql.code(MARKETER_LOGIN, {"e": "m@example.com", "p": "another password"}) == "UNAUTHENTICATED"
    )


async def test_export_schema_writes_the_sdl(tessera: Tessera, tmp_path: Path) -> None:
    target = tmp_path / "out.graphql"

    run = await tessera("export-schema", "-o", str(target))

    assert run.returncode == 0, run.stderr
    sdl = target.read_text()
    assert "recordPurchase" in sdl
    assert "type Mutation" in sdl


async def test_committed_schema_is_up_to_date(tessera: Tessera, repo_root: Path) -> None:
    run = await tessera("export-schema", "-o", "-")

    assert run.returncode == 0, run.stderr
    assert "recordPurchase" in run.stdout
    committed = repo_root / "schema.graphql"
    assert committed.exists(), "schema.graphql is missing: run `make schema` and commit it"
    assert committed.read_text() == run.stdout, "schema.graphql is stale: run `make schema` and commit it"


async def test_demo_is_idempotent_and_keeps_the_ledger_consistent(gql: GraphQL, tessera: Tessera) -> None:
    first = await tessera("demo")
    assert first.returncode == 0, first.stderr
    assert "Demo programme ready" in first.stdout
    entries = await LedgerEntry.all().count()
    assert entries > 0

    second = await tessera("demo")

    assert second.returncode == 0, second.stderr
    assert "Demo programme ready" in second.stdout
    # The second run replays the same orders: no new ledger entry.
    assert await LedgerEntry.all().count() == entries
    check = await tessera("check-ledger")
    assert check.returncode == 0, check.stdout
    assert check.last_line == "ledger consistent"
    # The coffee shop's badges, once each: Alice sees the Acheteur Assidu locked, 3 purchases to bronze.
    login = await gql(CUSTOMER_LOGIN, {"e": "alice@example.com", "p": "tessera-demo"})
    badges = {b["key"]: b for b in (await gql(BADGES, token=login["login"]["token"]))["badges"]}
    assert sorted(badges) == ["acheteur-assidu", "eco-hero"]
    assert [lv["target"] for lv in badges["acheteur-assidu"]["levels"]] == [3, 10, 25]
    # The README's eco and reward examples use the demo's refill_cup and its one reward, once.
    rewards = await gql("{ rewards { name } }", token=login["login"]["token"])
    assert rewards == {"rewards": [{"name": "Un espresso offert"}]}  # in Alice's French
    # Each run prints a fresh till key and revokes the previous one.
    first_key, second_key = (_till_key(run.stdout) for run in (first, second))
    assert first_key != second_key
    assert await _record_purchase(gql, second_key, "DEMO-CLI-1") == "OK"
    assert await _record_purchase(gql, first_key, "DEMO-CLI-2") == "UNAUTHENTICATED"


async def test_demo_sets_up_a_daily_streak_and_keeps_a_marketer_s_changes(
    gql: GraphQL, tessera: Tessera
) -> None:
    assert (await tessera("demo")).returncode == 0
    login = await gql(MARKETER_LOGIN, {"e": MARKETER_EMAIL, "p": DEMO_PASSWORD})
    marketer = login["marketerLogin"]["token"]
    assert (await gql(STREAK_SETTINGS, token=marketer))["streakSettings"] == {
        "period": "DAILY",
        "freezeDays": 1,
        "milestones": [{"length": 3, "rewardPoints": 20}, {"length": 7, "rewardPoints": 50}],
    }
    await gql(CONFIGURE_STREAK, {"input": {"freezeDays": 2}}, token=marketer)

    assert (await tessera("demo")).returncode == 0

    assert (await gql(STREAK_SETTINGS, token=marketer))["streakSettings"] == {
        "period": "DAILY",
        "freezeDays": 2,
        "milestones": [],
    }


def _till_key(stdout: str) -> str:
    [line] = [line for line in stdout.splitlines() if line.strip().startswith("till key")]
    return line.split()[-1]


async def test_requeue_restores_the_jobs_of_a_wiped_redis_from_the_database(
    gql: GraphQL, tessera: Tessera, settings: Settings, redis: Redis
) -> None:
    await f.earn_rule()
    key, alice = await f.api_key(), await f.customer(gql)
    for order in ("RQ-1", "RQ-2"):
        await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, order, 1000)}, api_key=key)
    event_ids = await Event.filter(processed_at=None).order_by("id").values_list("id", flat=True)
    assert len(event_ids) == 2
    await redis.flushdb()  # Redis lost, with the two queued process_event jobs

    run = await tessera("requeue")

    assert run.returncode == 0, run.stderr
    assert run.last_line.startswith("enqueued 2 event(s), 0 notification(s), 0 backfill(s), 0 campaign(s)")
    queued = await redis.zrange(default_queue_name, 0, -1)
    assert sorted(queued) == sorted(event_job_id(i).encode() for i in event_ids)
    # Run again: the same jobs, not twice as many.
    assert (await tessera("requeue")).returncode == 0
    assert await redis.zcard(default_queue_name) == 2
    ctx = {"settings": settings, "redis": redis, "job_try": 1}
    assert [await process_event(ctx, i) for i in event_ids] == ["processed", "processed"]


async def test_vapid_generate_prints_a_usable_pair_even_before_production_has_keys(
    settings: Settings, tmp_path: Path
) -> None:
    from game.notifications import vapid
    from tests.processes import TESSERA, tessera_env

    env = tessera_env(settings, TESSERA_ENV="production", TESSERA_VAPID_PRIVATE_KEY="")
    process = await asyncio.create_subprocess_exec(
        str(TESSERA), "vapid", "generate", env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    first, second = out.decode().splitlines()
    private = first.removeprefix("TESSERA_VAPID_PRIVATE_KEY=")
    assert second.endswith(vapid.public_key(private))
    production = Settings(
        env="production",
        jwt_secret="y" * 40,
        vapid_private_key=private,
        vapid_subject="mailto:ops@a.example",
    )
    assert production.vapid_public_key == vapid.public_key(private)
    with pytest.raises(ValidationError, match="VAPID_PRIVATE_KEY"):
        Settings(env="production", jwt_secret="y" * 40, var_dir=tmp_path)
    with pytest.raises(ValidationError, match="VAPID_SUBJECT"):
        Settings(env="production", jwt_secret="y" * 40, vapid_private_key=private, var_dir=tmp_path)


async def test_a_rewards_key_validates_coupons_and_check_ledger_counts_stock(
    gql: GraphQL, tessera: Tessera
) -> None:
    from game.rewards.models import Reward
    from tests.schema.test_rewards import REDEEM, VALIDATE, funded, reward

    await f.earn_rule(points_per_unit=1)
    marketer, till = await f.marketer_token(gql), await f.api_key("till-1", ["purchases"])
    rid = await reward(gql, marketer, stock=3)
    alice = await funded(gql, till, 200)
    code = (await gql(REDEEM, {"id": rid, "key": "k"}, token=alice.token))["redeemReward"]["couponCode"]
    created = await tessera("create-api-key", "coupons-1", "--scope", "rewards")
    assert created.returncode == 0, created.stderr
    coupon = (await gql(VALIDATE, {"code": code}, api_key=created.last_line))["validateCoupon"]
    assert coupon["valid"] is True
    check = await tessera("check-ledger")
    assert (check.returncode, check.last_line) == (0, "ledger consistent"), check.stdout
    await Reward.filter(id=int(rid)).update(redeemed=2)  # a stock count the redemptions do not explain
    check = await tessera("check-ledger")
    assert check.returncode == 1
    assert check.last_line == "1 pending, expiry or stock problem(s)"
    assert f"reward {rid}: redeemed 2, redemptions 1" in check.stdout
