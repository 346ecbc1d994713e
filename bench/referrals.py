"""`make bench`: referral chains on a 100,000-customer tree of depth 10.

Needs PostgreSQL and Redis: DATABASE_URL (default below) and REDIS_URL. The bench owns both: it drops and
recreates schema public of that database and flushes that Redis database.

1. Reads: `myReferrals` and `referralChain` through GraphQL (the real app under uvicorn, in this process,
   over HTTP on loopback) next to the same SQL statements their resolvers run, sent bare with asyncpg, for a
   sample of customers at every depth of the tree. Latency is per request, one request at a time. For scale,
   `me { id }` through GraphQL: the floor of any signed-in request.
2. Qualification in the worker: `processing.process_event` over purchases that qualify a referee at depth 10
   (pays the referee and 5 levels, records the referrer's referral_qualified event), next to the no-op
   baseline of bench/evaluate.py (lock the event row, mark it processed, commit), and, for information,
   purchases of already-qualified referees (the reaction's one query and nothing else).

The tree: 3^d customers at depth d for d < 10 (each with 3 referees), the remaining ones at depth 10; half of
all members qualified. Bulk-inserted by SQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import uvicorn
import uvloop
from redis.asyncio import Redis
from tortoise.transactions import in_transaction

from app.db import migrate
from app.factory import create_app
from app.settings import Settings
from game.access.tokens import issue_token
from game.access.viewer import Role
from game.events import processing
from game.events.models import Event
from game.events.processing import Outcome, Processed
from game.referrals import repository
from game.referrals.service import ALPHABET, SettingsInput, configure

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2")
JWT_SECRET = "x" * 40
CUSTOMERS = 100_000
DEPTH = 10
SAMPLE_PER_DEPTH = 10
ROUNDS = 5
EVENTS = 300  # per worker target
LEVELS = 5

MY_REFERRALS = """
query { myReferrals { code link levels { level pending qualified held }
  referees { displayName status referredAt } pointsEarned } }
"""
CHAIN = "query { referralChain { level displayName } }"

# What the resolvers run, in order (game/referrals/service.py: summary, chain).
BARE_SUMMARY = (
    (
        "SELECT m.code, s.levels FROM referral_member m LEFT JOIN referral_setting s ON s.id = 1 "
        "WHERE m.customer_id = $1",
        ("me",),
    ),
    (repository.DOWNLINE_COUNTS_SQL, ("me", "depth")),
    (
        "SELECT c.display_name, m.status, m.referred_at FROM referral_member m "
        "JOIN customer c ON c.id = m.customer_id WHERE m.referrer_id = $1 "
        "ORDER BY m.referred_at DESC, m.id DESC LIMIT 20",
        ("me",),
    ),
    (
        "SELECT COALESCE(SUM(points), 0) AS total FROM award_grant WHERE customer_id = $1 AND reason = "
        "'referral' AND withdrawn_at IS NULL AND base_key NOT LIKE 'referral:' || $1::text || ':%'",
        ("me",),
    ),
)
BARE_CHAIN = ((repository.UPLINE_SQL, ("me", "max")),)


def uuid_of(i: int) -> UUID:
    return UUID(int=i + 1)


def code_of(i: int) -> str:
    digits = []
    for _ in range(8):
        i, d = divmod(i, len(ALPHABET))
        digits.append(ALPHABET[d])
    return "".join(digits)


def tree() -> tuple[list[int], list[int]]:
    """Parent of each customer (-1 for the root) and its depth."""
    parents, depths = [-1], [0]
    previous = [0]
    while len(parents) < CUSTOMERS:
        depth = depths[-1] + 1
        size = 3**depth if depth < DEPTH else CUSTOMERS - len(parents)
        size = min(size, CUSTOMERS - len(parents))
        level = list(range(len(parents), len(parents) + size))
        for j, _ in enumerate(level):
            parents.append(previous[j // 3] if depth < DEPTH else previous[j % len(previous)])
            depths.append(depth)
        previous = level
    return parents, depths


async def build(pg: asyncpg.Connection, parents: list[int]) -> None:
    n = len(parents)
    await pg.execute(
        "INSERT INTO customer (id, email, password_hash, display_name, locale, timezone, tags, created_at) "
        "SELECT lpad(to_hex(i + 1), 32, '0')::uuid, 'c' || i || '@bench.example', 'x', 'Customer ' || i, "
        "'en', 'UTC', '[]', now() FROM generate_series(0, $1 - 1) i",
        n,
    )
    await pg.execute("INSERT INTO balance (customer_id, points) SELECT id, 0 FROM customer")
    now = datetime.now(UTC)
    rows = [
        (
            uuid_of(i),
            code_of(i),
            uuid_of(p) if p >= 0 else None,
            now if p >= 0 else None,
            "qualified" if i % 2 == 0 and p >= 0 else "pending",
        )
        for i, p in enumerate(parents)
    ]
    await pg.copy_records_to_table(
        "referral_member",
        records=rows,
        columns=["customer_id", "code", "referrer_id", "referred_at", "status"],
    )


async def insert_purchases(pg: asyncpg.Connection, customers: list[int], tag: str) -> list[int]:
    now = datetime.now(UTC)
    ids = []
    for i in customers:
        payload = json.dumps({"order_id": f"{tag}-{i}", "amount_cents": 5000, "currency": "EUR", "items": []})
        ids.append(
            await pg.fetchval(
                "INSERT INTO event (customer_id, type, source, idempotency_key, payload, payload_hash, "
                "occurred_at, recorded_at) VALUES ($1, 'purchase', 'bench', $2, $3, $4, $5, $5) RETURNING id",
                uuid_of(i),
                f"{tag}-{i}",
                payload,
                hashlib.sha256(payload.encode()).hexdigest(),
                now,
            )
        )
    return ids


# ------------------------------------------------------------------------------------------------ reads


def bare_args(spec: tuple[str, ...], me: UUID) -> list[Any]:
    values = {"me": me, "depth": LEVELS, "max": repository.MAX_CHAIN}
    return [values[name] for name in spec]


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"


async def timed(calls: list[Callable[[], Awaitable[Any]]]) -> tuple[list[float], float]:
    """Latency of each call, one after another, and the CPU this process spent on them all."""
    cpu = time.process_time()
    latencies = []
    for call in calls:
        started = perf_counter()
        await call()
        latencies.append(perf_counter() - started)
    return latencies, time.process_time() - cpu


async def reads(
    settings: Settings, client: httpx.AsyncClient, pg: asyncpg.Connection, sample: list[int]
) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    tokens = {
        i: issue_token(settings.jwt_secret, settings.jwt_ttl_s, uuid_of(i), Role.CUSTOMER) for i in sample
    }

    async def floor(i: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        await client.post("/graphql", json={"query": "query { me { id } }"}, headers=headers)

    def floor_of(i: int) -> Callable[[], Awaitable[None]]:
        return lambda: floor(i)

    await timed([floor_of(i) for i in sample])
    me_latency, _ = await timed([floor_of(i) for i in sample])
    print(f"me {{ id }} through GraphQL (the floor): median {statistics.median(me_latency) * 1000:.2f} ms")
    for name, query, bare in (
        ("myReferrals", MY_REFERRALS, BARE_SUMMARY),
        ("referralChain", CHAIN, BARE_CHAIN),
    ):

        def graphql(i: int, query: str = query) -> Callable[[], Awaitable[Any]]:
            async def call() -> None:
                response = await client.post(
                    "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {tokens[i]}"}
                )
                body = response.json()
                assert "errors" not in body, body

            return call

        def sql(i: int, bare: tuple[tuple[str, tuple[str, ...]], ...] = bare) -> Callable[[], Awaitable[Any]]:
            async def call() -> None:
                for statement, spec in bare:
                    await pg.fetch(statement, *bare_args(spec, uuid_of(i)))

            return call

        await timed([graphql(i) for i in sample])  # warm-up: codes created lazily, caches filled
        await timed([sql(i) for i in sample])
        ratios_latency: list[float] = []
        ratios_cpu: list[float] = []
        medians: dict[str, list[float]] = {"graphql": [], "bare": []}
        for _ in range(ROUNDS):
            g_lat, g_cpu = await timed([graphql(i) for i in sample])
            b_lat, b_cpu = await timed([sql(i) for i in sample])
            medians["graphql"].append(statistics.median(g_lat))
            medians["bare"].append(statistics.median(b_lat))
            ratios_latency.append(sum(g_lat) / sum(b_lat))
            ratios_cpu.append(g_cpu / b_cpu if b_cpu else float("nan"))
        results[name] = {
            "graphql_median_ms": statistics.median(medians["graphql"]) * 1000,
            "bare_median_ms": statistics.median(medians["bare"]) * 1000,
            "latency_ratio": statistics.median(ratios_latency),
            "cpu_ratio": statistics.median(ratios_cpu),
        }
        r = results[name]
        print(
            f"{name}: GraphQL median {r['graphql_median_ms']:.2f} ms, bare SQL {r['bare_median_ms']:.2f} ms; "
            f"total latency ratio {r['latency_ratio']:.2f}x, CPU ratio {r['cpu_ratio']:.2f}x "
            f"(medians of {ROUNDS} rounds over {len(sample)} customers)",
            flush=True,
        )
    return results


# ---------------------------------------------------------------------------------------------- worker


async def mark_processed(event_id: int) -> Processed:
    """The baseline, as in bench/evaluate.py: `processing.process_event` minus the reactions."""
    async with in_transaction() as conn:
        event = await Event.select_for_update().using_db(conn).get_or_none(id=event_id)
        if event is None:
            return Processed(Outcome.MISSING)
        if event.processed_at is not None:
            return Processed(Outcome.ALREADY_PROCESSED, event.customer_id)
        event.processed_at = datetime.now(UTC)
        await event.save(using_db=conn, update_fields=["processed_at"])
    return Processed(Outcome.PROCESSED, event.customer_id)


async def drive(
    ids: list[int], process: Callable[[int], Awaitable[Processed]], redis: Redis
) -> dict[str, float]:
    cpu, started = time.process_time(), perf_counter()
    awards = 0
    for event_id in ids:
        processed = await process(event_id)
        assert processed.outcome is Outcome.PROCESSED, processed
        awards += len(processed.awards)
        await processing.announce(redis, processed)
    seconds, cpu_s = perf_counter() - started, time.process_time() - cpu
    return {"eps": len(ids) / seconds, "cpu_per_event_ms": cpu_s / len(ids) * 1000, "awards": awards}


async def worker(pg: asyncpg.Connection, redis: Redis, depths: list[int]) -> dict[str, dict[str, float]]:
    tz = ZoneInfo("UTC")
    leaves = [i for i, d in enumerate(depths) if d == DEPTH and i % 2 == 1]  # pending referees at depth 10
    random.Random(7).shuffle(leaves)
    qualify, noop = leaves[:EVENTS], leaves[EVENTS : 2 * EVENTS]
    targets = {
        "no-op": (await insert_purchases(pg, noop, "noop"), mark_processed),
        "qualifying": (await insert_purchases(pg, qualify, "q"), lambda e: processing.process_event(e, tz)),
    }
    await pg.execute("VACUUM ANALYZE event")
    runs = {}
    for name, (ids, process) in targets.items():
        runs[name] = await drive(ids, process, redis)
    # Their second purchases: the referral is settled, the reaction reads one row and stops.
    again = await insert_purchases(pg, qualify, "again")
    runs["settled"] = await drive(again, lambda e: processing.process_event(e, tz), redis)
    base = runs["no-op"]
    for name, run in runs.items():
        print(
            f"worker, {name}: {run['eps']:,.0f} events/s, CPU {run['cpu_per_event_ms']:.2f} ms/event "
            f"({run['cpu_per_event_ms'] / base['cpu_per_event_ms']:.2f}x no-op), {int(run['awards'])} awards",
            flush=True,
        )
    assert runs["qualifying"]["awards"] == EVENTS * (1 + LEVELS), runs["qualifying"]
    return runs


async def bench(var_dir: Path) -> int:
    settings = Settings(
        database_url=DATABASE_URL, redis_url=REDIS_URL, jwt_secret=JWT_SECRET, var_dir=var_dir
    )
    pg = await asyncpg.connect(DATABASE_URL)
    await pg.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await migrate(settings)
    parents, depths = tree()
    started = perf_counter()
    await build(pg, parents)
    await pg.execute("VACUUM ANALYZE")
    print(f"tree: {len(parents):,} customers, depth {max(depths)}, built in {perf_counter() - started:.1f} s")
    rng = random.Random(1)
    sample = [0] + [
        i
        for d in range(1, DEPTH + 1)
        for i in rng.sample([j for j, x in enumerate(depths) if x == d], min(SAMPLE_PER_DEPTH, 3**d))
    ]
    server, task, url = await serve(create_app(settings))
    try:
        await configure(
            SettingsInput(
                min_purchase_cents=1000,
                referee_points=50,
                levels=[(level, 100 // level) for level in range(1, LEVELS + 1)],
                apply_within_days=30,
                monthly_cap_per_referrer=None,
                velocity_limit=None,
                active=True,
            )
        )
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            read = await reads(settings, client, pg, sample)
        runs = await worker(pg, redis, depths)
    finally:
        server.should_exit = True
        await task
        await redis.aclose()
        await pg.close()
    qualifying, base = runs["qualifying"], runs["no-op"]
    ratios = {
        "cpu_ratio": qualifying["cpu_per_event_ms"] / base["cpu_per_event_ms"],
        "throughput_ratio": qualifying["eps"] / base["eps"],
        "my_referrals_latency_ratio": read["myReferrals"]["latency_ratio"],
        "referral_chain_latency_ratio": read["referralChain"]["latency_ratio"],
    }
    print(json.dumps({"bench": "referrals", **{k: round(v, 3) for k, v in ratios.items()}}))
    return 0


def main() -> int:
    print(
        f"referral chains; {os.cpu_count()} CPUs shared with PostgreSQL and Redis\n"
        "reads: GraphQL over HTTP (uvicorn in this process) vs the resolvers' SQL sent bare with asyncpg\n"
        "worker: processing.process_event of a qualifying purchase (referee + 5 levels paid) vs the no-op\n"
        "  (lock the event row, mark it processed, commit)\n",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        return uvloop.run(bench(Path(tmp)))


if __name__ == "__main__":
    raise SystemExit(main())
