"""`make bench`: the mobile app's home screen through GraphQL, next to a bare Starlette + asyncpg endpoint
running the same SQL, with 100 live challenges (bench/evaluate.py's programme) and a customer with history.

Needs PostgreSQL and Redis: DATABASE_URL (default below) and REDIS_URL; the bench owns both (it drops schema
public and flushes the Redis database). Both servers run side by side (uvicorn, one worker each); the load
generator (aiohttp, this process) drives them in turn, ROUNDS times; server CPU per request comes from each
server process's own counters (/proc).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import uvloop
from arq.connections import RedisSettings, create_pool
from redis.asyncio import Redis

from app.db import database, migrate
from app.settings import Settings
from game.access.service import create_api_key
from game.access.tokens import issue_token
from game.access.viewer import Role
from game.customers.service import register
from game.earn.service import upsert_rule
from game.events.models import Event
from game.events.processing import process_event
from game.purchases.service import Item, PurchaseInput, record_purchase

if not __package__:  # `python bench/read.py` puts bench/ on the path, not the repository
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.earn import (
    DATABASE_URL,
    JWT_SECRET,
    REDIS_URL,
    Target,
    cpu_seconds,
    production_push_keys,
    server,
    wait_ready,
)
from bench.evaluate import publish_badges, publish_challenges
from bench.load import Run, load

CONNECTIONS = 16
ROUNDS = 3
SECONDS = 6.0
WARMUP_SECONDS = 2.0
PURCHASES = 30
TARGETS = ("baseline", "tessera")
HOME = """
query Home {
  me {
    id displayName points { balance }
    ledger(first: 20) {
      edges { node { id delta balanceAfter kind reason createdAt } } pageInfo { hasNextPage }
    }
  }
  challenges(status: ACTIVE) {
    id title rewardPoints steps { event aggregate target value } rewardBadge { id name }
  }
}
"""


async def prepare(var_dir: Path) -> str:
    """The evaluate bench's 100 challenges and 20 badges, a customer with PURCHASES processed purchases;
    returns her access token."""
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
    arq = await create_pool(RedisSettings.from_dsn(REDIS_URL))
    try:
        async with database(settings):
            badges = await publish_badges(arq)
            await publish_challenges(arq, datetime.now(UTC), [b.id for b in badges if b.rule is None])
            await upsert_rule("EUR", 10, {"coffee": 100})
            _, api_key = await create_api_key("bench-till")
            alice = await register("home@example.com", "correct horse battery", "Alice")
            source = "bench-till"
            for n in range(PURCHASES):
                await record_purchase(
                    arq,
                    source,
                    PurchaseInput(
                        str(alice.id),
                        f"H-{n}",
                        450,
                        "EUR",
                        datetime.now(UTC) - timedelta(days=n % 6, hours=1),
                        items=[Item("ESPRESSO", "coffee", 2, 225)],
                    ),
                )
            unprocessed = Event.filter(processed_at=None).order_by("id").values_list("id", flat=True)
            for event_id in await unprocessed:
                await process_event(int(event_id), ZoneInfo("UTC"))  # type: ignore[call-overload]
    finally:
        await arq.aclose()
    del api_key
    return issue_token(JWT_SECRET, 24 * 3600, UUID(str(alice.id)), Role.CUSTOMER)


async def bench(tmp: Path) -> int:
    token = await prepare(tmp)
    env = {
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "JWT_SECRET": JWT_SECRET,
        "TESSERA_ENV": "production",
        "TESSERA_VAR_DIR": str(tmp),
        **production_push_keys(),
    }
    headers = {"Authorization": f"Bearer {token}"}
    with ExitStack() as stack:
        servers = {
            "baseline": stack.enter_context(server("baseline", ["bench.baseline_app:app"], env, tmp)),
            "tessera": stack.enter_context(
                server("tessera", ["--factory", "app.factory:create_app"], env, tmp)
            ),
        }
        await asyncio.gather(*(wait_ready(s.url) for s in servers.values()))
        plan = {
            "baseline": Target(
                f"{servers['baseline'].url}/home",
                servers["baseline"].pid,
                headers,
                lambda: {},
                lambda data: isinstance(data, dict) and "data" in data,
            ),
            "tessera": Target(
                f"{servers['tessera'].url}/graphql",
                servers["tessera"].pid,
                headers,
                lambda: {"query": HOME},
                lambda data: isinstance(data, dict) and not data.get("errors") and bool(data.get("data")),
            ),
        }
        answers = {}
        for name, target in plan.items():
            run = await load(
                name, target.url, target.headers, target.body, target.check, connections=1, seconds=0.2
            )
            if run.errors:
                print(f"{name} fails: {run.first_error}")
                return 1
            answers[name] = run
        runs: dict[str, list[Run]] = {name: [] for name in TARGETS}
        for name in TARGETS:
            await drive(name, plan[name], WARMUP_SECONDS)
        print(f"  {'target':<10}{'req/s':>8}{'CPU ms/req':>12}{'errors':>8}", flush=True)
        for r in range(ROUNDS):
            for name in TARGETS if r % 2 == 0 else TARGETS[::-1]:
                run = await drive(name, plan[name], SECONDS)
                runs[name].append(run)
                cpu_ms = run.server_cpu_s / run.ok * 1000 if run.ok else float("nan")
                print(f"  {name:<10}{run.ok / run.seconds:>8.0f}{cpu_ms:>12.2f}{run.errors:>8}", flush=True)
    rps = {n: statistics.median(r.ok / r.seconds for r in rs) for n, rs in runs.items()}
    cpu = {n: statistics.median(r.server_cpu_s / r.ok * 1000 for r in rs if r.ok) for n, rs in runs.items()}
    print(f"\nmedian of {ROUNDS} rounds, {CONNECTIONS} connections, 100 live challenges:")
    for n in TARGETS:
        print(f"  {n:<10}{rps[n]:>8.0f} req/s  {cpu[n]:>6.2f} ms CPU/request")
    cpu_ratio, throughput_ratio = cpu["tessera"] / cpu["baseline"], rps["tessera"] / rps["baseline"]
    ratios = f"CPU per request {cpu_ratio:.2f}x (goal <= 2.5x), throughput {throughput_ratio:.2f}x"
    print(f"tessera / baseline: {ratios}")
    print(
        json.dumps(
            {
                "bench": "read",
                "cpu_ratio": round(cpu_ratio, 3),
                "throughput_ratio": round(throughput_ratio, 3),
            }
        )
    )
    return 0


async def drive(name: str, target: Target, seconds: float) -> Run:
    cpu = cpu_seconds(target.pid)
    run = await load(
        name, target.url, target.headers, target.body, target.check, connections=CONNECTIONS, seconds=seconds
    )
    run.server_cpu_s = cpu_seconds(target.pid) - cpu
    return run


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        return uvloop.run(bench(Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
