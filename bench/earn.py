"""`make bench`: recordPurchase through GraphQL next to a bare Starlette + asyncpg baseline doing its work.

Needs PostgreSQL and Redis: DATABASE_URL (default below) and REDIS_URL. The bench owns both: it drops and
recreates schema public of that database and flushes that Redis database.

Both servers run side by side (uvicorn, one worker each, 127.0.0.1); the load generator (aiohttp, in this
process) drives them in turn, baseline then Tessera, ROUNDS times, and reports the median of the runs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import uvloop
from redis.asyncio import Redis

from app.db import database, migrate
from app.settings import Settings
from game.access.service import create_api_key
from game.customers.service import register
from game.earn.service import upsert_rule

if not __package__:  # `python bench/earn.py` puts bench/ on the path, not the repository
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.load import Body, Check, Run, load

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2")
CONNECTIONS = 32
# Purchases go round-robin to this many customers: one customer would serialise every request on its balance
# row lock (held until the commit's fsync), and measure the disk rather than the servers.
CUSTOMERS = 8
ROUNDS = 3
SECONDS = 8.0
WARMUP_SECONDS = 2.0
POINTS = 125  # 12.50 EUR at 10 points per euro
JWT_SECRET = "x" * 40
ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("baseline", "tessera")
BASELINE_DOES = (
    "baseline: Starlette + asyncpg (pool of 5, as tortoise, no reset statement) + redis-py,\n"
    "  no validation/ORM/GraphQL: SELECT api_key by sha256, SELECT customer, SELECT earn_rule;\n"
    "  one transaction: INSERT event, INSERT purchase, UPDATE balance + INSERT ledger_entry (one\n"
    "  statement); after commit one pipeline: the job enqueued by Tessera's script (game/jobs.py) and a\n"
    "  PUBLISH, as Tessera does."
)
RECORD_PURCHASE = """
mutation($input: RecordPurchaseInput!) { recordPurchase(input: $input) { pointsAwarded balance duplicate } }
"""


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@dataclass(frozen=True)
class Target:
    url: str
    pid: int
    headers: dict[str, str]
    body: Body
    check: Check


async def prepare(var_dir: Path) -> tuple[list[str], str]:
    """Empty database and Redis, migrations, customers, a EUR earn rule; returns (customer ids, API key)."""
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
        customers = [
            await register(f"bench{i}@example.com", "correct horse battery", f"Bench {i}")
            for i in range(CUSTOMERS)
        ]
        await upsert_rule("EUR", 10, {})
        _, api_key = await create_api_key("bench-till")
    return [str(customer.id) for customer in customers], api_key


def production_push_keys() -> dict[str, str]:
    """Production refuses to start without Web Push keys: a pair made for this run."""
    from game.notifications import vapid

    private, _ = vapid.generate()
    return {"TESSERA_VAPID_PRIVATE_KEY": private, "TESSERA_VAPID_SUBJECT": "mailto:bench@tessera.example"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(name: str, app: list[str], env: dict[str, str], log_dir: Path) -> Iterator[Server]:
    """Runs `uvicorn <app>` in a subprocess on a free loopback port."""
    port = free_port()
    args = ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning"]
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", *app, *args, "--no-access-log"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Server(f"http://127.0.0.1:{port}", proc.pid)
    except BaseException:
        sys.stderr.write(f"--- {name} server log ---\n{log.read_text()[-3000:]}\n")
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{url}/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not ready after {timeout} s")
            await asyncio.sleep(0.1)


def targets(customer_ids: list[str], api_key: str, servers: dict[str, Server]) -> dict[str, Target]:
    orders = itertools.count(1)  # unique orderIds across every run of both targets
    headers = {"X-API-Key": api_key}

    def purchase(prefix: str) -> dict[str, Any]:
        n = next(orders)
        customer_id = customer_ids[n % len(customer_ids)]
        return {"customerId": customer_id, "orderId": f"{prefix}-{n}", "amountCents": 1250, "currency": "EUR"}

    def awarded(result: Any) -> bool:
        return (
            isinstance(result, dict)
            and result.get("pointsAwarded") == POINTS
            and result.get("duplicate") is False
        )

    def graphql_ok(data: Any) -> bool:
        return (
            isinstance(data, dict)
            and not data.get("errors")
            and awarded((data.get("data") or {}).get("recordPurchase"))
        )

    return {
        "baseline": Target(
            f"{servers['baseline'].url}/earn",
            servers["baseline"].pid,
            headers,
            lambda: purchase("b"),
            awarded,
        ),
        "tessera": Target(
            f"{servers['tessera'].url}/graphql",
            servers["tessera"].pid,
            headers,
            lambda: {"query": RECORD_PURCHASE, "variables": {"input": purchase("t")}},
            graphql_ok,
        ),
    }


async def drive(name: str, target: Target, seconds: float) -> Run:
    cpu = cpu_seconds(target.pid)
    run = await load(
        name, target.url, target.headers, target.body, target.check, connections=CONNECTIONS, seconds=seconds
    )
    run.server_cpu_s = cpu_seconds(target.pid) - cpu
    return run


async def check_ledger(awarded: int) -> str | None:
    """Every answered purchase is in the database once, and the balance is the sum of the ledger."""
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        purchases = await conn.fetchval("SELECT count(*) FROM purchase")
        ledger = await conn.fetchval("SELECT coalesce(sum(delta), 0) FROM ledger_entry")
        balance = await conn.fetchval("SELECT sum(points) FROM balance")
    finally:
        await conn.close()
    if purchases == awarded and balance == ledger == awarded * POINTS:
        return None
    return f"{awarded} purchases answered, {purchases} stored; balance {balance}, ledger sum {ledger}"


COLUMNS = f"  {'target':<10}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}{'errors':>8}"


def row(name: str, rps: float, p50: float, p99: float, cpu_ms: float, errors: int) -> str:
    return f"  {name:<10}{rps:>8.0f}{p50:>9.1f}{p99:>9.1f}{cpu_ms:>12.2f}{errors:>8}"


def print_run(run: Run) -> None:
    p50, p99 = run.percentile_ms(0.50), run.percentile_ms(0.99)
    print(row(run.target, run.rps, p50, p99, run.cpu_ms, run.errors), flush=True)
    if run.first_error:
        print(f"    first error: {run.first_error}", flush=True)


def report(runs: dict[str, list[Run]]) -> dict[str, float]:
    """The median of each figure over the rounds, then Tessera's figures as multiples of the baseline's."""
    med = {
        name: {
            "rps": statistics.median(r.rps for r in rs),
            "p50": statistics.median(r.percentile_ms(0.50) for r in rs),
            "p99": statistics.median(r.percentile_ms(0.99) for r in rs),
            "cpu": statistics.median(r.cpu_ms for r in rs),
        }
        for name, rs in runs.items()
    }
    print(f"\nmedian of {ROUNDS} runs (server CPU: the uvicorn process alone, not PostgreSQL or Redis)")
    print(COLUMNS)
    for name, m in med.items():
        print(row(name, m["rps"], m["p50"], m["p99"], m["cpu"], sum(r.errors for r in runs[name])))
    base, tessera = med["baseline"], med["tessera"]
    throughput = tessera["rps"] / base["rps"]
    print("\ntessera / baseline")
    print(f"  throughput    {throughput:5.2f}x   goal >= 0.6x: {'met' if throughput >= 0.6 else 'NOT met'}")
    print(f"  p99 latency   {tessera['p99'] / base['p99']:5.2f}x   (above 1: slower than the baseline)")
    print(f"  CPU / request {tessera['cpu'] / base['cpu']:5.2f}x")
    verdict = "met" if tessera["rps"] >= 1000 else "NOT met"
    print(f"tessera {tessera['rps']:.0f} req/s   goal >= 1,000 req/s on 2 cores: {verdict}")
    return {"cpu_ratio": tessera["cpu"] / base["cpu"], "throughput_ratio": throughput}


async def bench(tmp: Path) -> int:
    customer_ids, api_key = await prepare(tmp)
    env = {
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "JWT_SECRET": JWT_SECRET,
        "TESSERA_ENV": "production",
        "TESSERA_VAR_DIR": str(tmp),
        **production_push_keys(),
    }
    with ExitStack() as stack:
        servers = {
            "baseline": stack.enter_context(server("baseline", ["bench.baseline_app:app"], env, tmp)),
            "tessera": stack.enter_context(
                server("tessera", ["--factory", "app.factory:create_app"], env, tmp)
            ),
        }
        await asyncio.gather(*(wait_ready(s.url) for s in servers.values()))
        plan = targets(customer_ids, api_key, servers)
        warmups = [await drive(name, plan[name], WARMUP_SECONDS) for name in TARGETS]
        runs: dict[str, list[Run]] = {name: [] for name in TARGETS}
        print(COLUMNS, flush=True)
        for _ in range(ROUNDS):
            for name in TARGETS:
                runs[name].append(await drive(name, plan[name], SECONDS))
                print_run(runs[name][-1])
    ratios = report(runs)
    every = warmups + [run for rs in runs.values() for run in rs]
    errors = sum(run.errors for run in every)
    problem = await check_ledger(sum(run.ok for run in every))
    if problem:
        print(f"\nLEDGER CHECK FAILED: {problem}")
    if errors:
        print(f"\n{errors} request(s) failed (warm-ups included)")
    print(json.dumps({"bench": "earn", **{k: round(v, 3) for k, v in ratios.items()}}))
    return 1 if errors or problem else 0


def main() -> int:
    print(
        f"recordPurchase: {CONNECTIONS} connections, {ROUNDS} x {SECONDS:.0f} s per target after a "
        f"{WARMUP_SECONDS:.0f} s warm-up; {os.cpu_count()} CPUs shared by servers, PostgreSQL, Redis and "
        f"the load generator\npurchases of 12.50 EUR, round-robin over {CUSTOMERS} customers\n"
        f"{BASELINE_DOES}\n"
        "tessera: uvicorn app.factory:create_app, TESSERA_ENV=production, 1 worker\n",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        return uvloop.run(bench(Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
