"""Rebuilding boards from the database, while the API keeps serving the old set.

Each season's set is written into a temporary key and swapped in with one RENAME, so a reader sees the old
board or the new one, never half of one. The opt-out set is rebuilt the same way, first, so the mirror
keeps opted-out customers off the rebuilt boards. An update mirrored while a board is rebuilt may be lost
by the swap when its row was read before it committed; the customer's next event (or the next rebuild)
brings it back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from game.leaderboards import store
from game.leaderboards.models import Leaderboard, LeaderboardScore
from game.leaderboards.names import shown_name
from game.leaderboards.ranking import pack
from game.leaderboards.service import board_by_key, current_season, live_boards, opted_out_ids, score_rows

BATCH = 20_000
OPT_OUT_READY = "lb:ready:optout"

Progress = Callable[[int, int], None]  # (done, total) of the board being rebuilt


async def rebuild_opt_outs(redis: Redis) -> None:
    ids = await opted_out_ids()
    tmp = f"{store.OPT_OUT}:rebuild:{uuid.uuid4().hex}"
    async with redis.pipeline(transaction=True) as pipe:
        if ids:
            pipe.sadd(tmp, *ids)
            pipe.rename(tmp, store.OPT_OUT)
        else:
            pipe.delete(store.OPT_OUT)
        pipe.set(OPT_OUT_READY, "1")
        await pipe.execute()


async def rebuild_board(
    redis: Redis, board: Leaderboard, tz: ZoneInfo, progress: Progress | None = None
) -> int:
    """Rebuilds the live season of `board`; returns how many members it holds."""
    season = current_season(board, tz).key
    total = await LeaderboardScore.filter(board_id=board.id, season=season).count()
    tmp = f"{store.board_key(board.key, season)}:rebuild:{uuid.uuid4().hex}"
    done = 0

    async def write(rows: list[dict[str, Any]]) -> None:
        members, names = {}, {}
        for r in rows:
            cid = str(r["customer_id"])
            members[cid] = pack(int(r["score"]), _aware(r["reached_at"]), board.starts_at)
            names[cid] = shown_name(cid, r["display_name"])
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zadd(tmp, members)
            pipe.hset(store.NAMES, mapping=names)
            await pipe.execute()

    rows = await score_rows(board.id, season, 0, BATCH)
    while rows:
        # The next page is read from the database while this one is written to Redis.
        rows_next, _ = await asyncio.gather(
            score_rows(board.id, season, int(rows[-1]["id"]), BATCH), write(rows)
        )
        done += len(rows)
        if progress:
            progress(done, total)
        rows = rows_next
    async with redis.pipeline(transaction=True) as pipe:
        if done:
            pipe.rename(tmp, store.board_key(board.key, season))
        else:
            pipe.delete(store.board_key(board.key, season))
        pipe.set(store.ready_key(board.key, season), "1")
        pipe.publish(store.changed_channel(board.key), "1")
        await pipe.execute()
    if progress and (done == 0 or done != total):  # opted-out customers were counted in `total`
        progress(done, done)
    return done


async def rebuild(
    redis: Redis,
    tz: ZoneInfo,
    key: str | None = None,
    progress: Callable[[Leaderboard], Progress] | None = None,
) -> dict[str, int]:
    await rebuild_opt_outs(redis)
    boards = [await board_by_key(key, live=True)] if key else await live_boards()
    return {b.key: await rebuild_board(redis, b, tz, progress(b) if progress else None) for b in boards}


async def restore_missing(redis: Redis, tz: ZoneInfo) -> list[str]:
    """The sweeper's part: after a Redis wipe, every board (and the opt-outs) comes back from the database."""
    if not await redis.exists(OPT_OUT_READY):
        await rebuild_opt_outs(redis)
    rebuilt = []
    for board in await live_boards():
        if not await redis.exists(store.ready_key(board.key, current_season(board, tz).key)):
            await rebuild_board(redis, board, tz)
            rebuilt.append(board.key)
    return rebuilt


def _aware(value: datetime | str) -> datetime:
    """A timestamp read by raw SQL: SQLite gives text."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
