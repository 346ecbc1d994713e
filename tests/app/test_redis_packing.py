"""The API's and the worker's Redis connections pack commands with hiredis (app/redis.py): the same bytes as
redis-py's own packer, the same refusals, and every kind of call still answered by the real server. Their
pool does not hold its lock while it checks a connection."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError

from app.redis import arq_pool, pack_with_hiredis
from app.settings import Settings

COMMANDS: list[tuple[Any, ...]] = [
    ("PING",),
    ("SET", "clé", "été", "PX", 1500),
    ("ZADD", "board", 1.5, "a", -0.25, "b", 10**20, "c", float("inf"), "d"),
    ("SET", b"raw", b"\x00\xff" * 5000),  # larger than redis-py's buffer cutoff
    ("SET", "view", memoryview(b"abc")),
    ("CONFIG GET", "maxmemory"),
    (b"CONFIG GET", b"maxmemory"),
    ("EVAL", "return 1", 2, "k1", "k2", pickle.dumps({"job": (1, 2)}), 3),
]


def _packed(connection: Any, args: tuple[Any, ...]) -> bytes:
    return b"".join(bytes(chunk) for chunk in connection.pack_command(*args))


async def test_the_same_bytes_as_redis_py_packs(settings: Settings) -> None:
    async with arq_pool(settings.redis_url) as pool:
        kind = pool.connection_pool.connection_class
        assert kind not in (Connection, UnixDomainSocketConnection)
        ours: Any = kind()
        stock: Any = Connection()
        for args in COMMANDS:
            assert _packed(ours, args) == _packed(stock, args), args
        pipeline = [("MULTI",), *COMMANDS, ("EXEC",)]
        assert b"".join(ours.pack_commands(pipeline)) == b"".join(
            bytes(chunk) for chunk in stock.pack_commands(pipeline)
        )
        for bad in (None, True, bytearray(b"x")):
            with pytest.raises(DataError):
                stock.pack_command("SET", "k", bad)
            with pytest.raises(DataError):
                ours.pack_command("SET", "k", bad)


async def test_every_kind_of_call_answered(settings: Settings) -> None:
    async with arq_pool(settings.redis_url) as pool:
        # create_pool's own connection (its ping) was dropped: every connection the pool hands out packs ours.
        connection = await pool.connection_pool.get_connection()
        try:
            assert type(connection) is pool.connection_pool.connection_class
        finally:
            await pool.connection_pool.release(connection)

        await pool.set("clé", "été")
        assert (await pool.get("clé")).decode() == "été"
        async with pool.pipeline(transaction=True) as tr:
            tr.zadd("board", {"a": 1.5, "b": 3})
            tr.zrevrange("board", 0, -1, withscores=True)
            _, ranked = await tr.execute()
        assert ranked == [(b"b", 3.0), (b"a", 1.5)]
        evaluated: Any = pool.eval("return ARGV[1] .. KEYS[1]", 1, "k", "v")
        assert await evaluated == b"vk"

        pubsub = pool.pubsub()
        await pubsub.subscribe("packing")
        try:
            await pool.publish("packing", "bonjour")
            message = None
            for _ in range(50):
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                if message is not None:
                    break
                await asyncio.sleep(0)
            assert message is not None
            assert message["data"] == b"bonjour"
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
        await pool.delete("clé", "board")


async def test_the_pool_is_free_while_a_connection_is_checked_and_takes_a_failed_one_back() -> None:
    # A server that accepts connections and never answers: the first command's connection check hangs.
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = await pack_with_hiredis(Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=5))
    pool: Any = client.connection_pool
    try:
        waiting = asyncio.create_task(client.ping())
        for _ in range(100):
            if accepted:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert accepted
        assert not waiting.done()
        # redis-py 5.3's own pool holds its lock here: every other command of the process would queue.
        assert not pool._lock.locked()

        for writer in accepted:
            writer.close()
        with pytest.raises((RedisConnectionError, OSError)):
            await waiting
        # The connection that failed its check went back to the pool (and reconnects on its next use).
        assert len(pool._in_use_connections) == 0
        assert len(pool._available_connections) == 1
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_a_connection_with_a_reply_left_unread_or_closed_by_the_server_is_replaced(
    settings: Settings,
) -> None:
    async with arq_pool(settings.redis_url) as pool:
        connections: Any = pool.connection_pool
        await pool.set("packing:k", "fresh")

        # A command whose reply nobody read (a cancelled caller): the reply arrives in the stream's buffer.
        dirty = await connections.get_connection()
        await dirty.send_command("ECHO", "stale")
        for _ in range(100):
            if dirty._parser._stream._buffer:
                break
            await asyncio.sleep(0.01)
        assert dirty._parser._stream._buffer
        await connections.release(dirty)
        # The next command must not read that reply as its own.
        assert await pool.get("packing:k") == b"fresh"

        # A connection the server closed (killed from another one), then back in the pool, next to be taken.
        closed = await connections.get_connection()
        await closed.send_command("CLIENT", "ID")
        client_id = await closed.read_response()
        await pool.execute_command("CLIENT", "KILL", "ID", client_id)
        for _ in range(100):
            if closed._parser._stream.at_eof():
                break
            await asyncio.sleep(0.01)
        assert closed._parser._stream.at_eof()
        await connections.release(closed)
        assert await pool.get("packing:k") == b"fresh"
        await pool.delete("packing:k")
