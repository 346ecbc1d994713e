"""`make bench`: redeemReward through GraphQL next to a bare Starlette + asyncpg endpoint doing the same SQL.

100 customers redeem one reward at once, each as fast as its answers come back (one connection each): every
redemption takes the reward's row for its conditional stock UPDATE, so this measures the contended path.
Needs PostgreSQL and Redis: DATABASE_URL and REDIS_URL (defaults below); the bench owns both (it drops
schema public and flushes that Redis database). Prints redemptions/s and server CPU per redemption of each,
the median of ROUNDS runs, and ends with one JSON line of Tessera's figures as ratios to the baseline's.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import aiohttp
import asyncpg
import uvloop
from redis.asyncio import Redis

if not __package__:  # `python bench/redeem.py` puts bench/ on the path, not the repository
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.db import database, migrate
from app.settings import Settings
from bench.earn import cpu_seconds, production_push_keys, server, wait_ready
from game.access.tokens import issue_token
from game.access.viewer import Role
from game.awards.keys import Reason
from game.awards.service import Award, grant
from game.customers.service import register
from game.ledger.models import EntryKind
from game.rewards.models import RewardKind, RewardStatus
from game.rewards.service import RewardInput, create_reward, set_status

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2")
CUSTOMERS = 100
ROUNDS = 3
SECONDS = 6.0
WARMUP_SECONDS = 2.0
COST = 10
JWT_SECRET = "x" * 40
TARGETS = ("baseline", "tessera")
KEYS = itertools.count(1)  # idempotency keys unique across every run of both targets: none is a replay
REDEEM = """
mutation($id: ID!, $key: String!) {
  redeemReward(rewardId: $id, idempotencyKey: $key) { id points couponCode }
}
"""


@dataclass
class Run:
    target: str
    seconds: float = 0.0
    ok: int = 0
    errors: int = 0
    first_error: str | None = None
    cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s / max(self.ok + self.errors, 1) * 1000


async def prepare(var_dir: Path) -> tuple[list[str], int, Settings]:
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    settings = Settings(
        database_url=DATABASE_URL, redis_url=REDIS_URL, jwt_secret=JWT_SECRET, var_dir=var_dir
    )
    await migrate(settings)
    async with database(settings):
        from tortoise.transactions import in_transaction

        customers = []
        for i in range(CUSTOMERS):
            customer = await register(f"bench{i}@example.com", "correct horse battery", f"Bench {i}")
            async with in_transaction() as tx:
                funds = Award(
                    customer.id, 10_000_000, EntryKind.BONUS, Reason.ECO_ACTION, f"bench:{i}", "Bench"
                )
                await grant(tx, funds)
            customers.append(str(customer.id))
        reward = await create_reward(
            RewardInput(kind=RewardKind.VOUCHER, name={"en": "Bench voucher"}, cost_points=COST, stock=10**7)
        )
        await set_status(reward.id, RewardStatus.LIVE)
    return customers, reward.id, settings


async def drive(name: str, url: str, pid: int, tokens: list[str], reward_id: int, seconds: float) -> Run:
    run = Run(name)
    cpu = cpu_seconds(pid)
    connector = aiohttp.TCPConnector(limit=len(tokens))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def customer(token: str, deadline: float) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            while perf_counter() < deadline:
                key = f"{name}-{next(KEYS)}"
                body: dict[str, Any] = (
                    {"rewardId": reward_id, "idempotencyKey": key}
                    if name == "baseline"
                    else {"query": REDEEM, "variables": {"id": str(reward_id), "key": key}}
                )
                try:
                    async with session.post(url, json=body, headers=headers) as response:
                        data = await response.json(content_type=None)
                    good = response.status == 200 and "errors" not in data and "error" not in data
                except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                    good, data = False, repr(e)
                if good:
                    run.ok += 1
                else:
                    run.errors += 1
                    run.first_error = run.first_error or str(data)[:300]

        started = perf_counter()
        await asyncio.gather(*(customer(t, started + seconds) for t in tokens))
        run.seconds = perf_counter() - started
    run.cpu_s = cpu_seconds(pid) - cpu
    return run


async def check(redeemed: int) -> str | None:
    """Every answered redemption is stored once, the stock count equals them, the ledger adds up."""
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM redemption")
        stock = await conn.fetchval("SELECT redeemed FROM reward")
        ledger = await conn.fetchval("SELECT coalesce(sum(delta), 0) FROM ledger_entry")
        balance = await conn.fetchval("SELECT sum(points) FROM balance")
    finally:
        await conn.close()
    if stored == stock == redeemed and ledger == balance == CUSTOMERS * 10_000_000 - redeemed * COST:
        return None
    return f"{redeemed} answered, {stored} stored, stock count {stock}; ledger {ledger}, balances {balance}"


async def bench(tmp: Path) -> int:
    customers, reward_id, settings = await prepare(tmp)
    from uuid import UUID

    tokens = [issue_token(settings.jwt_secret, 24 * 3600, UUID(c), Role.CUSTOMER) for c in customers]
    env = {
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "JWT_SECRET": JWT_SECRET,
        "TESSERA_ENV": "production",
        **production_push_keys(),
        "TESSERA_VAR_DIR": str(tmp),
    }
    with ExitStack() as stack:
        servers = {
            "baseline": stack.enter_context(server("baseline", ["bench.baseline_redeem:app"], env, tmp)),
            "tessera": stack.enter_context(
                server("tessera", ["--factory", "app.factory:create_app"], env, tmp)
            ),
        }
        await asyncio.gather(*(wait_ready(s.url) for s in servers.values()))
        paths = {"baseline": "/redeem", "tessera": "/graphql"}

        async def one(name: str, seconds: float) -> Run:
            s = servers[name]
            return await drive(name, s.url + paths[name], s.pid, tokens, reward_id, seconds)

        every = [await one(name, WARMUP_SECONDS) for name in TARGETS]
        runs: dict[str, list[Run]] = {name: [] for name in TARGETS}
        print(f"  {'target':<10}{'redemptions/s':>15}{'CPU ms/redemption':>19}{'errors':>8}", flush=True)
        for _ in range(ROUNDS):
            for name in TARGETS:
                run = await one(name, SECONDS)
                runs[name].append(run)
                print(f"  {name:<10}{run.rps:>15.0f}{run.cpu_ms:>19.2f}{run.errors:>8}", flush=True)
                if run.first_error:
                    print(f"    first error: {run.first_error}", flush=True)
    every += [run for rs in runs.values() for run in rs]
    rps = {name: statistics.median(r.rps for r in rs) for name, rs in runs.items()}
    cpu = {name: statistics.median(r.cpu_ms for r in rs) for name, rs in runs.items()}
    print(
        f"\nmedian of {ROUNDS}: tessera {rps['tessera']:.0f}/s at {cpu['tessera']:.2f} ms CPU each, "
        f"baseline {rps['baseline']:.0f}/s at {cpu['baseline']:.2f} ms"
    )
    problem = await check(sum(r.ok for r in every))
    errors = sum(r.errors for r in every)
    if problem:
        print(f"CHECK FAILED: {problem}")
    if errors:
        print(f"{errors} request(s) failed")
    line = {
        "bench": "redeem",
        "cpu_ratio": round(cpu["tessera"] / cpu["baseline"], 2),
        "throughput_ratio": round(rps["tessera"] / rps["baseline"], 2),
    }
    print(json.dumps(line))
    return 1 if problem or errors else 0


def main() -> int:
    print(
        f"redeemReward: {CUSTOMERS} customers at once on one reward, {ROUNDS} x {SECONDS:.0f} s per target "
        f"after a {WARMUP_SECONDS:.0f} s warm-up; {os.cpu_count()} CPUs shared by servers, PostgreSQL, Redis "
        "and the load generator\nbaseline: Starlette + asyncpg, JWT check, the same statements in one "
        "transaction, arq's enqueue commands and a PUBLISH\n",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        return uvloop.run(bench(Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
