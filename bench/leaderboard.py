"""`make bench`: leaderboards at scale. A board of MEMBERS customers (LEADERBOARD_MEMBERS, default
1,000,000) is loaded into PostgreSQL; then, measured in the same run:

- the full rebuild of the board (game/leaderboards/rebuild.py: the scores summed from the ledger and events
  and compared with leaderboard_score, then database -> temporary key -> RENAME) next to a bare ZADD
  pipeline of the same members (goal: at most 3x its time), 3 rounds: the first writes the names too;
- the board's Redis memory per member (the sorted set, and the names hash boards read);
- `leaderboard(first: 10)` + `aroundMe` + `myRank` in one GraphQL request, as requests/s and server CPU per
  request, next to a bare Starlette endpoint making the same Redis calls (goal: at least 0.7x its
  throughput), 5 rounds driving both back to back: the median of the rounds' ratios.

Needs PostgreSQL and Redis: DATABASE_URL and REDIS_URL (defaults below). The bench owns both: it drops and
recreates schema public of that database and flushes that Redis database.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import uvloop
from redis.asyncio import Redis

if not __package__:  # `python bench/leaderboard.py` puts bench/ on the path, not the repository
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.db import database, migrate
from app.settings import Settings
from bench.earn import cpu_seconds, production_push_keys, server, wait_ready
from bench.load import Run, load
from game.access.tokens import issue_token
from game.access.viewer import Role
from game.leaderboards import store
from game.leaderboards.models import BoardPeriod, Metric
from game.leaderboards.ranking import pack
from game.leaderboards.rebuild import Rebuilt, rebuild, repair
from game.leaderboards.service import NewBoard, board_by_key, create_board, current_season

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2")
MEMBERS = int(os.environ.get("LEADERBOARD_MEMBERS", "1000000"))
KEY = "bench-points"
BOARD_START = datetime(2026, 1, 1, tzinfo=UTC)
CONNECTIONS = 32
ROUNDS = 3  # of the rebuild
HTTP_ROUNDS = 5
SECONDS = 6.0
WARMUP_SECONDS = 2.0
CLIENTS = 64  # customers the requests go round-robin over, spread over the whole board
JWT_SECRET = "x" * 40
ZADD_BATCH = 10_000
QUERY = """
query($key: String!) {
  leaderboard(key: $key, first: 10) { entries { rank score displayName isMe } total }
  aroundMe(key: $key, radius: 2) { rank score displayName isMe }
  myRank(key: $key) { rank score displayName isMe }
}
"""


async def prepare(var_dir: Path) -> tuple[Settings, list[tuple[str, float]]]:
    """Empty database and Redis, migrations, the board, and MEMBERS customers with a score each (COPY): the
    truth (a processed purchase event and its ledger entry each) and the board's rows of it."""
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
        board = await create_board(
            NewBoard(KEY, "Bench", Metric.POINTS_EARNED, BoardPeriod.ALL_TIME, starts_at=BOARD_START)
        )
    rng = random.Random(11)
    now = datetime.now(UTC)
    customers, scores, members, events, entries = [], [], [], [], []
    for i in range(MEMBERS):
        cid = uuid.UUID(int=rng.getrandbits(128), version=4)
        score = int(rng.paretovariate(1.2) * 100)
        reached = BOARD_START + timedelta(seconds=rng.randrange(300 * 86400))
        customers.append((cid, f"b{i}@example.com", "x", f"Player {i}", "en", "UTC", "[]", now))
        events.append((i + 1, cid, "purchase", "bench", f"purchase:{i}", "{}", "-", reached, now, now))
        entries.append((cid, score, score, "earn", f"Purchase {i}", f"purchase:bench:{i}", i + 1, now))
        scores.append((board.id, "all", cid, score, reached))
        members.append((str(cid), pack(score, reached, BOARD_START)))
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        columns = ["id", "email", "password_hash", "display_name", "locale", "timezone", "tags", "created_at"]
        await conn.copy_records_to_table("customer", records=customers, columns=columns)
        columns = ["id", "customer_id", "type", "source", "idempotency_key", "payload", "payload_hash"]
        columns += ["occurred_at", "recorded_at", "processed_at"]
        await conn.copy_records_to_table("event", records=events, columns=columns)
        columns = ["customer_id", "delta", "balance_after", "kind", "reason", "award_key", "event_id"]
        await conn.copy_records_to_table("ledger_entry", records=entries, columns=[*columns, "created_at"])
        columns = ["board_id", "season", "customer_id", "score", "reached_at"]
        await conn.copy_records_to_table("leaderboard_score", records=scores, columns=columns)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return settings, members


async def bare_zadd(members: list[tuple[str, float]]) -> float:
    redis = Redis.from_url(REDIS_URL)
    try:
        started = time.perf_counter()
        for i in range(0, len(members), ZADD_BATCH):
            await redis.zadd("bench:bare", dict(members[i : i + ZADD_BATCH]))
        elapsed = time.perf_counter() - started
        assert await redis.zcard("bench:bare") == len(members)
        await redis.delete("bench:bare")
        return elapsed
    finally:
        await redis.aclose()


async def timed_rebuild(settings: Settings) -> tuple[float, float, int, int]:
    """The rebuild's time, the part of it spent repairing `leaderboard_score` from the truth (timed alone,
    the same work), and the bytes of the sorted set and of the names hash."""
    redis = Redis.from_url(REDIS_URL)
    try:
        async with database(settings):
            started = time.perf_counter()
            counts = await rebuild(redis, ZoneInfo("UTC"), KEY)
            elapsed = time.perf_counter() - started
            board = await board_by_key(KEY)
            started = time.perf_counter()
            assert await repair(board, current_season(board, ZoneInfo("UTC"))) == 0
            repair_s = time.perf_counter() - started
        assert counts[KEY] == Rebuilt(MEMBERS, 0), counts
        zset = int(await redis.memory_usage(store.board_key(KEY, "all"), samples=0) or 0)
        names = int(await redis.memory_usage(store.NAMES, samples=0) or 0)
        return elapsed, repair_s, zset, names
    finally:
        await redis.aclose()


async def drive(name: str, url: str, pid: int, headers: dict[str, str], body: Any, seconds: float) -> Run:
    def ok(data: Any) -> bool:
        d = (data or {}).get("data") or {}
        return (
            not (data or {}).get("errors")
            and len((d.get("leaderboard") or {}).get("entries", [])) == 10
            and (d.get("myRank") is not None)
        )

    cpu = cpu_seconds(pid)
    run = await load(name, url, headers, body, ok, connections=CONNECTIONS, seconds=seconds)
    run.server_cpu_s = cpu_seconds(pid) - cpu
    return run


async def bench(tmp: Path) -> int:
    started = time.perf_counter()
    settings, members = await prepare(tmp)
    print(f"loaded {MEMBERS:,} members into PostgreSQL in {time.perf_counter() - started:.1f} s", flush=True)
    bares, rebuilds, repairs = [], [], []
    for _ in range(ROUNDS):
        bares.append(await bare_zadd(members))
        print(f"bare ZADD pipeline ({ZADD_BATCH:,} per call): {bares[-1]:.2f} s", flush=True)
        rebuild_s, repair_s, zset_bytes, names_bytes = await timed_rebuild(settings)
        rebuilds.append(rebuild_s)
        repairs.append(repair_s)
        print(f"tessera leaderboards rebuild:              {rebuild_s:.2f} s", flush=True)
        print(f"  of which repairing the scores from the truth (timed alone): {repair_s:.2f} s", flush=True)
    # Each round's rebuild next to the bare pipeline just before it (the machine's load drifts); the first
    # round writes the names too (the hash is empty after the flush), the next ones find them written.
    ratios = [r / b for r, b in zip(rebuilds, bares, strict=True)]
    print(
        "rebuild / bare ZADD per round: "
        + ", ".join(f"{r:.2f}x" for r in ratios)
        + " (names written in the first)"
    )
    per_member, names_per_member = zset_bytes / MEMBERS, names_bytes / MEMBERS
    print(f"Redis memory: sorted set {per_member:.1f} B/member, names hash {names_per_member:.1f} B/member\n")

    rng = random.Random(5)
    clients = [members[rng.randrange(MEMBERS)][0] for _ in range(CLIENTS)]
    tokens = [issue_token(settings.jwt_secret, 24 * 3600, uuid.UUID(c), Role.CUSTOMER) for c in clients]
    turn = iter(range(10**12))
    env = {
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "JWT_SECRET": JWT_SECRET,
        "TESSERA_ENV": "production",
        **production_push_keys(),
        "TESSERA_VAR_DIR": str(tmp),
        "LEADERBOARD_KEY": store.board_key(KEY, "all"),
    }
    with ExitStack() as stack:
        base = stack.enter_context(server("baseline", ["bench.baseline_leaderboard:app"], env, tmp))
        tessera = stack.enter_context(server("tessera", ["--factory", "app.factory:create_app"], env, tmp))
        await asyncio.gather(wait_ready(base.url), wait_ready(tessera.url))
        # aiohttp sends one session's headers with every request, so each run asks as one customer (neither
        # side caches anything per customer); each round takes the next customer.

        def targets(i: int) -> dict[str, tuple[str, int, dict[str, str], Any]]:
            me = clients[i % CLIENTS]
            return {
                "baseline": (f"{base.url}/boards", base.pid, {}, lambda: {"customerId": me}),
                "tessera": (
                    f"{tessera.url}/graphql",
                    tessera.pid,
                    {"Authorization": f"Bearer {tokens[i % CLIENTS]}"},
                    lambda: {"query": QUERY, "variables": {"key": KEY}},
                ),
            }

        for name, (url, pid, headers, body) in targets(next(turn)).items():
            await drive(name, url, pid, headers, body, WARMUP_SECONDS)
        runs: dict[str, list[Run]] = {"baseline": [], "tessera": []}
        print(f"  {'target':<10}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}{'errors':>8}")
        for i in range(HTTP_ROUNDS):
            # Each round drives both, one right after the other, the first one in turn (the machine's load
            # drifts within seconds): each round's ratio is taken, then their median.
            order = list(targets(next(turn)).items())
            for name, (url, pid, headers, body) in order if i % 2 == 0 else order[::-1]:
                run = await drive(name, url, pid, headers, body, SECONDS)
                runs[name].append(run)
                p50, p99 = run.percentile_ms(0.5), run.percentile_ms(0.99)
                print(f"  {name:<10}{run.rps:>8.0f}{p50:>9.1f}{p99:>9.1f}{run.cpu_ms:>12.2f}{run.errors:>8}")
                if run.first_error:
                    print(f"    first error: {run.first_error}")
    pairs = list(zip(runs["tessera"], runs["baseline"], strict=True))
    throughputs = [t.rps / b.rps for t, b in pairs]
    cpus = [t.cpu_ms / b.cpu_ms for t, b in pairs]
    throughput, cpu_ratio, rebuild_ratio = (
        statistics.median(throughputs),
        statistics.median(cpus),
        statistics.median(ratios),
    )
    print("\ntessera / baseline per round: throughput " + ", ".join(f"{r:.2f}x" for r in throughputs))
    print("                               CPU/request " + ", ".join(f"{r:.2f}x" for r in cpus))
    print(f"median of the {HTTP_ROUNDS} rounds' ratios (server CPU: the uvicorn process alone)")
    print(f"  throughput    {throughput:5.2f}x   goal >= 0.7x: {'met' if throughput >= 0.7 else 'NOT met'}")
    print(f"  CPU / request {cpu_ratio:5.2f}x")
    verdict = "met" if rebuild_ratio <= 3 else "NOT met"
    print(f"  rebuild       {rebuild_ratio:5.2f}x a bare ZADD pipeline   goal <= 3x: {verdict}")
    print(f"  (the rebuild that writes the names too: {ratios[0]:.2f}x)")
    errors = sum(r.errors for rs in runs.values() for r in rs)
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()  # a million members is not worth keeping in a shared Redis
    await redis.aclose()
    print(
        json.dumps(
            {
                "bench": "leaderboard",
                "cpu_ratio": round(cpu_ratio, 3),
                "throughput_ratio": round(throughput, 3),
                "rebuild_ratio": round(rebuild_ratio, 3),
                "rebuild_with_names_ratio": round(ratios[0], 3),
                "rebuild_repair_s": round(statistics.median(repairs), 2),
                "members": MEMBERS,
                "redis_bytes_per_member": round(per_member, 1),
                "names_bytes_per_member": round(names_per_member, 1),
            }
        )
    )
    return 1 if errors else 0


def main() -> int:
    print(
        f"leaderboards: {MEMBERS:,} members; {CONNECTIONS} connections, {HTTP_ROUNDS} x {SECONDS:.0f} s per "
        f"target after a {WARMUP_SECONDS:.0f} s warm-up; {os.cpu_count()} CPUs shared by servers, "
        "PostgreSQL, Redis and the load generator\nbaseline: Starlette + redis-py making the same Redis "
        "calls as the three fields, their three read scripts (no auth, database or GraphQL)\n"
        "tessera: uvicorn app.factory:create_app, TESSERA_ENV=production, 1 worker\n",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        return uvloop.run(bench(Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
