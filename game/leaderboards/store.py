"""The Redis side of the boards: one sorted set per board season, a mirror of `leaderboard_score`.

    lb:<board>:<season>        sorted set: customer id -> packed score (game/leaderboards/ranking.py)
    lb:names                   hash: customer id -> the name boards show
    lb:optout                  set: customers hidden from every board
    lb:ready:<board>:<season>  set once the season's set was built: the sweeper rebuilds those missing
    lb:changed:<board>         pub/sub channel: a board moved (the subscription reads the top itself)

Writes are absolute (ZADD of the value the database holds), so applying one twice changes nothing. A write
for an opted-out customer is skipped by the script that makes it, atomically, so an opt-out that lands
between the database commit and the mirror cannot be undone by it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from game.errors import DomainError, ErrorCode
from game.leaderboards.ranking import Standing, competition_ranks, higher_than, unpack

NAMES = "lb:names"
OPT_OUT = "lb:optout"

_MIRROR = """
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
"""


def board_key(board: str, season: str) -> str:
    return f"lb:{board}:{season}"


def ready_key(board: str, season: str) -> str:
    return f"lb:ready:{board}:{season}"


def changed_channel(board: str) -> str:
    return f"lb:changed:{board}"


@asynccontextmanager
async def available() -> AsyncIterator[None]:
    """Redis unreachable: the board cannot be read, which is not the client's fault nor a bug."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE, "leaderboards are unavailable, retry later") from exc


async def mirror(redis: Redis, standings: Iterable[Standing]) -> None:
    """After commit: the boards take the values the database now holds, and say that they moved."""
    standings = list(standings)
    if not standings:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for s in standings:
            keys = [board_key(s.board_key, s.season), OPT_OUT, NAMES]
            pipe.eval(_MIRROR, 3, *keys, s.customer_id, str(s.packed), s.name)
        for board in sorted({s.board_key for s in standings}):
            pipe.publish(changed_channel(board), "1")
        await pipe.execute()


async def hide(redis: Redis, customer_id: str, keys: Iterable[str]) -> None:
    """Opt-out: off every board at once (MULTI), and kept off by the mirror script."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.sadd(OPT_OUT, customer_id)
        for key in keys:
            pipe.zrem(key, customer_id)
        await pipe.execute()


async def show(redis: Redis, customer_id: str, standings: Iterable[Standing]) -> None:
    """Opt-in: back on every board with the scores the database holds."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.srem(OPT_OUT, customer_id)
        for s in standings:
            pipe.zadd(board_key(s.board_key, s.season), {s.customer_id: s.packed})
            pipe.hset(NAMES, s.customer_id, s.name)
        await pipe.execute()


@dataclass(frozen=True, slots=True)
class Entry:
    customer_id: str
    name: str
    score: int
    rank: int


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[Entry]
    total: int


async def _entries(redis: Redis, key: str, rows: list[tuple[bytes, float]], offset: int) -> list[Entry]:
    """Ranks and names of `rows`, read in descending order from `offset` (0-based)."""
    if not rows:
        return []
    scores = [unpack(packed) for _, packed in rows]
    ids = [member.decode() for member, _ in rows]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcount(key, higher_than(scores[0]), "+inf")
        pipe.hmget(NAMES, ids)
        above, names = await pipe.execute()
    ranks = competition_ranks(scores, int(above) + 1, offset + 1)
    return [
        Entry(cid, (name or b"").decode(), score, rank)
        for cid, name, score, rank in zip(ids, names, scores, ranks, strict=True)
    ]


async def page(redis: Redis, key: str, offset: int, limit: int) -> Page:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrevrange(key, offset, offset + limit - 1, withscores=True)
        pipe.zcard(key)
        rows, total = await pipe.execute()
    return Page(await _entries(redis, key, rows, offset), int(total))


async def around(redis: Redis, key: str, customer_id: str, radius: int) -> list[Entry]:
    index = await redis.zrevrank(key, customer_id)
    if index is None:
        return []
    start = max(index - radius, 0)
    rows = await redis.zrevrange(key, start, index + radius, withscores=True)
    return await _entries(redis, key, rows, start)


async def mine(redis: Redis, key: str, customer_id: str) -> Entry | None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zscore(key, customer_id)
        pipe.hget(NAMES, customer_id)
        packed, name = await pipe.execute()
    if packed is None:
        return None
    score = unpack(packed)
    above = await redis.zcount(key, higher_than(score), "+inf")
    return Entry(customer_id, (name or b"").decode(), score, int(above) + 1)


async def drop(redis: Redis, board: str, season: str) -> None:
    await redis.delete(board_key(board, season), ready_key(board, season))
