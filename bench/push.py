"""`make bench`: notifications delivered per second by one worker process to a local Web Push receiver, next
to the same number of bare `webpush_async` calls in the same run, and the CPU each costs per push.

Needs PostgreSQL and Redis: DATABASE_URL (default below) and REDIS_URL. The bench owns both: it drops and
recreates schema public of that database and flushes that Redis database.

The receiver runs in a child process (aiohttp, 127.0.0.1), so that this process's CPU counters hold the
sender's work only; it answers 201 and counts what it received. Customers each have one device; the
notifications are inserted as the engine queues them (one inbox row per customer).

Timed, in turn, ROUNDS times (median reported):
- worker: each notification's pushes are planned as the job that queued it plans them after its commit
  (`enqueue_delivery` with that one key, up to max_jobs at a time: preferences, devices, the mark, one
  `push_notification` job per device and the live message; calls that arrive while a plan runs are planned
  together, as in a worker whose jobs commit at once), then a real arq worker (build_worker, as
  `tessera worker` runs it, in this process, burst mode) drains the push jobs, the jobs claimed together
  run as one batch: one read, the sends (each rendered, encrypted, signed), one statement recording the
  attempts with the delivered markers, one Redis transaction finishing the jobs; timed from the first plan
  until the receiver has the last push (the time until arq's burst run returns, up to one poll later, and
  the rate it gives are printed beside), the CPU in the same window;
- bare: the same number of `webpush_async` calls with the same payload size, one shared aiohttp session and
  the worker's concurrency (max_jobs), nothing else, called as pywebpush documents it: the parsed VAPID key
  and a fresh claims dict, so each call signs its own VAPID token: the issue's baseline (the JSON line).
- bare, token reused: the same calls given a VAPID token signed once, as the worker's sender does (RFC 8292
  lets a token serve many messages). Printed beside, for the reader: the least any sender must do.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter

import aiohttp
import asyncpg
import uvloop
from arq.connections import ArqRedis as ArqPool
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import webpush_async
from redis.asyncio import Redis

if not __package__:  # `python bench/push.py` puts bench/ on the path, not the repository
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.db import database, migrate
from app.redis import pack_with_hiredis
from app.settings import Settings
from game.notifications.push import VAPID_TTL_S, Sender
from game.notifications.service import enqueue_delivery
from game.notifications.vapid import b64url
from workers.settings import build_worker

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2")
NOTIFICATIONS = int(os.environ.get("BENCH_PUSH_NOTIFICATIONS", "1000"))
ROUNDS = int(os.environ.get("BENCH_PUSH_ROUNDS", "3"))
RUN_LIMIT_S = 300.0

SINK = """
import asyncio
import sys
from aiohttp import web

count = 0
waiting = []  # (count awaited, future)

async def push(request):
    global count
    await request.read()
    count += 1
    for target, reached in waiting:
        if count >= target and not reached.done():
            reached.set_result(None)
    return web.Response(status=201)

async def stats(request):
    return web.json_response({"received": count})

async def until(request):
    # Answers once `count` pushes in all have been received: the moment the last one was delivered.
    target = int(request.query["count"])
    if count < target:
        reached = asyncio.get_running_loop().create_future()
        waiting.append((target, reached))
        await reached
    return web.json_response({"received": count})

app = web.Application()
app.add_routes(
    [web.post("/push/{token}", push), web.get("/stats", stats), web.get("/until", until)]
)
runner = web.AppRunner(app, access_log=None)

async def main():
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


@dataclass
class Run:
    what: str
    pushes: int
    seconds: float
    cpu_s: float
    machine_busy: float = 0.0  # share of all cores busy during the run (PostgreSQL, Redis, receiver too)
    exited_s: float | None = None  # the worker: until its burst run noticed the empty queue and returned

    @property
    def rate(self) -> float:
        return self.pushes / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_push(self) -> float:
        return 1000 * self.cpu_s / self.pushes if self.pushes else float("inf")


def device_keys() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point), b64url(os.urandom(16))


async def received(sink: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(f"{sink}/stats") as response:
        return int((await response.json())["received"])


async def prepare(pg: asyncpg.Connection, sink: str, n: int) -> list[tuple[str, str, str]]:
    """n customers with one device each; returns (endpoint, p256dh, auth) of every device."""
    now = datetime.now(UTC)
    devices = []
    customers = []
    subscriptions = []
    for i in range(n):
        cid = uuid.uuid4()
        p256dh, auth = device_keys()
        endpoint = f"{sink}/push/{i}"
        customers.append(
            (cid, f"bench{i}@example.com", "x", f"Bench {i}", "fr" if i % 2 else "en", "UTC", now)
        )
        subscriptions.append((cid, endpoint, p256dh, auth, "bench", now))
        devices.append((endpoint, p256dh, auth))
    await pg.executemany(
        "INSERT INTO customer (id, email, password_hash, display_name, locale, timezone, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        customers,
    )
    await pg.executemany(
        "INSERT INTO push_subscription (customer_id, endpoint, p256dh, auth, user_agent, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        subscriptions,
    )
    return devices


async def queue_round(pg: asyncpg.Connection, r: int) -> list[str]:
    """One notification per customer, as an award queues it."""
    payload = json.dumps({"challenge_id": 1, "title": {"fr": "Habitué", "en": "Regular"}, "points": 50})
    rows = await pg.fetch(
        "INSERT INTO notification (key, customer_id, kind, payload, created_at, push_jobs) "
        "SELECT 'bench:' || $1::text || ':' || id::text, id, 'challenge_completed', $2::jsonb, now(), 0 "
        "FROM customer RETURNING key",
        str(r),
        payload,
    )
    return [row["key"] for row in rows]


async def worker_run(settings: Settings, keys: list[str], sink: str, delivered: int) -> Run:
    """Timed from the first plan to the last push received (the receiver's count reaching `delivered`): the
    notifications' delivery. arq's burst run returns later, when a poll (every poll_delay, 0.1 s) finds the
    queue empty: a worker that runs on does not wait for that, so it is printed beside, not counted."""
    pool = await pack_with_hiredis(ArqPool.from_url(settings.redis_url))  # as `tessera worker` connects
    worker = build_worker(settings, pool, handle_signals=False)
    worker.burst = True
    gate = asyncio.Semaphore(settings.worker_max_jobs)

    async def plan(key: str) -> None:
        async with gate:
            await enqueue_delivery(pool, [key])

    async def reached() -> None:
        async with session.get(f"{sink}/until", params={"count": str(delivered)}) as response:
            await response.read()

    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=RUN_LIMIT_S))
    busy, total = machine_busy()
    cpu, started = time.process_time(), perf_counter()
    try:
        waiting = asyncio.create_task(reached())
        await asyncio.gather(*(plan(key) for key in keys))
        running = asyncio.create_task(asyncio.wait_for(worker.async_run(), RUN_LIMIT_S))
        # A worker that fails stops the clock too: the round's checks then report what went missing.
        await asyncio.wait([waiting, running], return_when=asyncio.FIRST_COMPLETED)
        seconds, cpu_s = perf_counter() - started, time.process_time() - cpu
        busy_after, total_after = machine_busy()
        await running
        exited = perf_counter() - started
    finally:
        waiting.cancel()
        await session.close()
        await worker.close()
    ran = Run("worker", len(keys), seconds, cpu_s, (busy_after - busy) / (total_after - total))
    ran.exited_s = exited
    return ran


async def bare_run(
    settings: Settings, devices: list[tuple[str, str, str]], data: str, concurrency: int, reuse_token: bool
) -> Run:
    gate = asyncio.Semaphore(concurrency)
    busy, total = machine_busy()
    cpu, started = time.process_time(), perf_counter()
    async with aiohttp.ClientSession() as session:
        sender = Sender(session, settings.vapid_private_key, settings.vapid_subject, settings.push_timeout_s)
        timeout = aiohttp.ClientTimeout(total=settings.push_timeout_s)

        async def one(endpoint: str, p256dh: str, auth: str) -> None:
            async with gate:
                subscription = {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
                if reuse_token:
                    response = await webpush_async(
                        subscription,
                        data,
                        ttl=86400,
                        headers={"Urgency": "normal", "Authorization": sender.authorization(endpoint)},
                        timeout=timeout,
                        aiohttp_session=session,
                    )
                else:
                    response = await webpush_async(
                        subscription,
                        data,
                        vapid_private_key=sender.signer,
                        vapid_claims={"sub": settings.vapid_subject, "exp": int(time.time()) + VAPID_TTL_S},
                        ttl=86400,
                        headers={"Urgency": "normal"},
                        timeout=timeout,
                        aiohttp_session=session,
                    )
                assert isinstance(response, aiohttp.ClientResponse), response
                assert response.status == 201, response
                response.release()

        await asyncio.gather(*(one(*device) for device in devices))
    seconds, cpu_s = perf_counter() - started, time.process_time() - cpu
    busy_after, total_after = machine_busy()
    what = "bare, token reused" if reuse_token else "bare webpush_async"
    return Run(what, len(devices), seconds, cpu_s, (busy_after - busy) / (total_after - total))


async def bench(var_dir: Path, sink: str) -> int:
    settings = Settings(
        database_url=DATABASE_URL,
        redis_url=REDIS_URL,
        jwt_secret="x" * 40,
        var_dir=var_dir,
        push_allowed_hosts="127.0.0.1",
    )
    pg = await asyncpg.connect(DATABASE_URL)
    await pg.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()
    await migrate(settings)
    problems = []
    workers: list[Run] = []
    bares: list[Run] = []
    reused: list[Run] = []
    try:
        async with database(settings):
            devices = await prepare(pg, sink, NOTIFICATIONS)
            await pg.execute("VACUUM ANALYZE")
            # The same size as the worker's payload: a rendered French notification.
            data = json.dumps(
                {
                    "id": 123456,
                    "kind": "challenge_completed",
                    "title": "Défi réussi",
                    "body": "Habitué : +50 points",
                    "language": "fr",
                    "link": None,
                    "createdAt": datetime.now(UTC).isoformat(),
                },
                separators=(",", ":"),
            )
            for r in range(ROUNDS):
                start = await received(sink)
                reused.append(await bare_run(settings, devices, data, settings.worker_max_jobs, True))
                before = await received(sink)
                bares.append(await bare_run(settings, devices, data, settings.worker_max_jobs, False))
                keys = await queue_round(pg, r)
                middle = await received(sink)
                workers.append(await worker_run(settings, keys, sink, middle + NOTIFICATIONS))
                after = await received(sink)
                delivered = await pg.fetchval(
                    "SELECT count(*) FROM push_delivery d JOIN notification n ON n.id = d.notification_id "
                    "WHERE n.key LIKE $1",
                    f"bench:{r}:%",
                )
                if middle - before != NOTIFICATIONS or before - start != NOTIFICATIONS:
                    got = f"{before - start} and {middle - before}"
                    problems.append(f"round {r}: the receiver got {got} bare pushes")
                if after - middle != NOTIFICATIONS or delivered != NOTIFICATIONS:
                    problems.append(
                        f"round {r}: the receiver got {after - middle}, {delivered} marked delivered"
                    )
                for run in (reused[-1], bares[-1], workers[-1]):
                    exited = f"; burst run returned at {run.exited_s:.2f} s" if run.exited_s else ""
                    share = f"{run.cpu_s / run.seconds:.0%} of a core, machine {run.machine_busy:.0%} busy"
                    print(
                        f"round {r + 1} {run.what:>20}: {run.rate:8.0f} pushes/s, "
                        f"{run.cpu_ms_per_push:6.2f} ms CPU per push ({run.seconds:.2f} s, this process "
                        f"{share}{exited})",
                        flush=True,
                    )
    finally:
        await pg.close()
    worker_rate = statistics.median(r.rate for r in workers)
    bare_rate = statistics.median(r.rate for r in bares)
    worker_cpu = statistics.median(r.cpu_ms_per_push for r in workers)
    bare_cpu = statistics.median(r.cpu_ms_per_push for r in bares)
    reused_rate = statistics.median(r.rate for r in reused)
    reused_cpu = statistics.median(r.cpu_ms_per_push for r in reused)
    exit_rate = statistics.median(r.pushes / r.exited_s for r in workers if r.exited_s)
    print(
        f"\nmedian of {ROUNDS}: worker {worker_rate:.0f} pushes/s, {worker_cpu:.2f} ms CPU per push; "
        f"bare webpush_async {bare_rate:.0f} pushes/s, {bare_cpu:.2f} ms CPU per push; "
        f"throughput {worker_rate / bare_rate:.2f}x (goal >= 0.7x)\n"
        f"bare calls given a token signed once: {reused_rate:.0f} pushes/s, "
        f"{reused_cpu:.2f} ms CPU per push; the worker at {worker_rate / reused_rate:.2f}x their throughput, "
        f"{worker_cpu / reused_cpu:.2f}x their CPU\n"
        f"until arq's burst run returned: worker {exit_rate:.0f} pushes/s, {exit_rate / bare_rate:.2f}x bare",
        flush=True,
    )
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print(
        json.dumps(
            {
                "bench": "push",
                "cpu_ratio": round(worker_cpu / bare_cpu, 3),
                "throughput_ratio": round(worker_rate / bare_rate, 3),
                "worker_pushes_per_s": round(worker_rate, 1),
                "bare_pushes_per_s": round(bare_rate, 1),
                "worker_cpu_ms_per_push": round(worker_cpu, 3),
                "bare_cpu_ms_per_push": round(bare_cpu, 3),
                "reused_token_throughput_ratio": round(worker_rate / reused_rate, 3),
                "reused_token_cpu_ratio": round(worker_cpu / reused_cpu, 3),
                "until_exit_throughput_ratio": round(exit_rate / bare_rate, 3),
                "notifications": NOTIFICATIONS,
            }
        )
    )
    return 1 if problems else 0


def main() -> int:
    print(
        f"Web Push delivery by one worker process; {os.cpu_count()} CPUs shared with PostgreSQL, Redis "
        f"and the receiver\n{NOTIFICATIONS} notifications to as many devices per round, {ROUNDS} rounds\n",
        flush=True,
    )
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                with cProfile.Profile() as profile:
                    code = uvloop.run(bench(Path(tmp), f"http://127.0.0.1:{port}"))
                profile.dump_stats(os.environ["BENCH_PROFILE"])
                return code
            return uvloop.run(bench(Path(tmp), f"http://127.0.0.1:{port}"))
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    sys.exit(main())
