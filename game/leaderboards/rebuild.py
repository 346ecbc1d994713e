"""Rebuilding boards from the truth (game/leaderboards/truth.py), while the API keeps serving the old set.

For the live season of each board:
1. Redis: the rebuild marker is set (one rebuild of a board at a time) and the set `:next` emptied. From
   now on every mirrored update also goes into `:next` (game/leaderboards/store.py).
2. The database: under the board's lock, taken exclusively (increments wait), every customer's score is
   summed from the ledger, eco contributions and grants in SQL and compared with the rows of
   `leaderboard_score` in the same query; those that differ are repaired (updated, added, removed), in one
   transaction.
3. Redis: `leaderboard_score` (the repaired rows and any increment since), opted-out customers left out, is
   written into `:next` with ZADD NX, so a value an update mirrored meanwhile, newer, is kept.
4. Redis, one script: the customers opted out meanwhile are taken out of `:next`, which is renamed over
   the live set; the marker is dropped and the board marked ready. A reader sees the old board or the new
   one, never half of one, and no update mirrored during the rebuild is lost.
The opt-out set is rebuilt first, so the boards keep opted-out customers off: opt-outs and opt-ins that land
while it is read from the database are journaled and applied to the new set as it is swapped in.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from game.errors import DomainError, ErrorCode
from game.leaderboards import store, truth
from game.leaderboards.engine import BOARD_LOCK, aware, record_season
from game.leaderboards.models import Leaderboard
from game.leaderboards.names import shown_name
from game.leaderboards.periods import Season
from game.leaderboards.ranking import pack, pack_sql
from game.leaderboards.service import board_by_key, current_season, live_boards, opted_out_ids
from game.sql import execute, fetch_all, fetch_one, prepared

BATCH = 20_000
_CHUNK = 500  # rows per statement of a repair
OPT_OUT_READY = "lb:ready:optout"
# A rebuild that dies leaves its marker behind this long at most; a running one renews it every batch.
MARKER_TTL_MS = 300_000

# (done, total) of the board being rebuilt, after each page is written and before the swap; may be async.
Progress = Callable[[int, int], Awaitable[None] | None]

# KEYS: marker, next; ARGV: token, ttl
_START = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""

# KEYS: board, next, marker, opt-outs, ready; ARGV: token, channel -> members, or -1 if the marker is not ours
_SWAP = """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return -1 end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do redis.call('ZREM', KEYS[2], id) end
local members = redis.call('ZCARD', KEYS[2])
if members > 0 then redis.call('RENAME', KEYS[2], KEYS[1]) else redis.call('DEL', KEYS[1]) end
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[5], '1')
redis.call('PUBLISH', ARGV[2], '1')
return members
"""

# KEYS: marker, next; ARGV: token
_ABANDON = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1], KEYS[2]) end
return 1
"""


@dataclass(frozen=True, slots=True)
class Rebuilt:
    members: int  # on the rebuilt set
    repaired: int  # rows of leaderboard_score that differed from the truth


# KEYS: the new set, opt-outs, marker, journal, ready; ARGV: token -> 1, or 0 if the marker is not ours
_SWAP_OPT_OUTS = """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 0
end
for _, change in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
  local id = string.sub(change, 2)
  if string.sub(change, 1, 1) == '+' then
    redis.call('SADD', KEYS[1], id)
  else
    redis.call('SREM', KEYS[1], id)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
else
  redis.call('DEL', KEYS[2])
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('SET', KEYS[5], '1')
return 1
"""


async def rebuild_opt_outs(redis: Redis, read: Callable[[], Awaitable[None]] | None = None) -> None:
    """The opt-out set from the database. Changes that land meanwhile are journaled by store.hide and
    store.show from the moment the marker is set, and applied to the new set in the script that swaps it
    in: a change whose Redis write came before the marker had committed before the database was read.
    `read`, if given, runs right after the database is read (tests interleave changes there)."""
    token = uuid.uuid4().hex
    marker, journal = store.OPT_OUT_REBUILDING, store.OPT_OUT_JOURNAL
    if not await redis.set(marker, token, nx=True, px=MARKER_TTL_MS):
        return  # another process is rebuilding them, from the same database
    await redis.delete(journal)
    ids = await opted_out_ids()
    if read is not None:
        await read()
    tmp = f"{store.OPT_OUT}:rebuild:{token}"
    for i in range(0, len(ids), BATCH):
        await redis.sadd(tmp, *ids[i : i + BATCH])  # type: ignore[misc]
    keys = [tmp, store.OPT_OUT, marker, journal, OPT_OUT_READY]
    if not await redis.eval(_SWAP_OPT_OUTS, len(keys), *keys, token):  # type: ignore[misc]
        message = "the opt-out rebuild outlived its marker; run it again"
        raise DomainError(ErrorCode.SERVICE_UNAVAILABLE, message)


async def repair(board: Leaderboard, season: Season) -> int:
    """Makes the season's rows of `leaderboard_score` equal the truth; returns how many it changed. One query
    compares the two (a full join of the truth's sums and the rows); only the rows that differ are written."""
    select, params = truth.of_season(board, season.starts_at, season.ends_at)
    q = truth.Query(list(params))
    diff = (
        "SELECT COALESCE(t.customer_id, m.customer_id) AS customer_id, t.score, t.reached_at "
        f"FROM ({select}) t FULL JOIN (SELECT customer_id, score, reached_at FROM leaderboard_score "
        f"WHERE board_id = {int(board.id)} AND season = {q.p(season.key)}) m "
        "ON m.customer_id = t.customer_id WHERE m.customer_id IS NULL OR t.customer_id IS NULL "
        "OR t.score <> m.score OR t.reached_at <> m.reached_at"
    )
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            await execute(conn, "SELECT pg_advisory_xact_lock($1, $2)", BOARD_LOCK, board.id)
        rows = await fetch_all(conn, diff, *q.params)
        gone = [r["customer_id"] for r in rows if r["score"] is None]
        right = [(r["customer_id"], int(r["score"]), r["reached_at"]) for r in rows if r["score"] is not None]
        for i in range(0, len(gone), _CHUNK):
            q = truth.Query([season.key])
            marks = ", ".join(q.p(cid) for cid in gone[i : i + _CHUNK])
            await execute(
                conn,
                f"DELETE FROM leaderboard_score WHERE board_id = {int(board.id)} AND season = $1 "
                f"AND customer_id IN ({marks})",
                *q.params,
            )
        for i in range(0, len(right), _CHUNK):
            q = truth.Query()
            values = ", ".join(
                f"({int(board.id)}, {q.p(season.key)}, {q.p(cid)}, {q.p(score)}, {q.p(at)})"
                for cid, score, at in right[i : i + _CHUNK]
            )
            await execute(
                conn,
                "INSERT INTO leaderboard_score (board_id, season, customer_id, score, reached_at) "
                f"VALUES {values} ON CONFLICT (board_id, season, customer_id) DO UPDATE "
                "SET score = excluded.score, reached_at = excluded.reached_at",
                *q.params,
            )
        if right:
            await record_season(conn, board, season)
    return len(rows)


async def _count(conn: BaseDBAsyncClient, sql: str, *params: Any) -> int:
    row = await fetch_one(sql, *params, conn=conn)
    return int(row["n"]) if row else 0


async def _pages(board: Leaderboard, season: str, names: bool) -> Any:
    """The season's rows of `leaderboard_score` in id order, opted-out customers left out, a page at a time:
    (id, customer id, packed score, name or ""). PostgreSQL packs in SQL (ranking.pack_sql)."""
    conn = get_connection("default")
    postgres = conn.capabilities.dialect == "postgres"
    name = "c.display_name" if names else "''"
    columns = (
        f"s.id, s.customer_id::text, {pack_sql('s.score', 's.reached_at', 'CAST($4 AS TIMESTAMPTZ)')}, {name}"
        if postgres
        else f"s.id, s.customer_id, s.score, s.reached_at, {name}"
    )
    sql = prepared(
        conn,
        f"SELECT {columns} FROM leaderboard_score s "
        + ("JOIN customer c ON c.id = s.customer_id " if names else "")
        + "WHERE s.board_id = $1 AND s.season = $2 AND s.id > $3 "
        "AND NOT EXISTS (SELECT 1 FROM leaderboard_opt_out o WHERE o.customer_id = s.customer_id) "
        f"ORDER BY s.id LIMIT {BATCH}",
    )

    async def page(after: int) -> list[tuple[int, str, float, str]]:
        params: list[Any] = [board.id, season, after]
        if postgres:
            _, rows = await conn.execute_query(sql, [*params, board.starts_at])
            return [(r[0], r[1], r[2], shown_name(r[1], r[3]) if names else "") for r in rows]
        _, rows = await conn.execute_query(sql, params)
        return [
            (
                r[0],
                str(r[1]),
                pack(int(r[2]), aware(r[3]), board.starts_at),
                shown_name(str(r[1]), r[4]) if names else "",
            )
            for r in rows
        ]

    return page


async def rebuild_board(
    redis: Redis, board: Leaderboard, tz: ZoneInfo, progress: Progress | None = None, *, names: bool = False
) -> Rebuilt:
    """Rebuilds the live season of `board`. The names of its members are written again when `names` is
    set, when the repair changed a score, or when the names hash has lost them (it holds a field saying the
    season's names were written, which goes when the hash does); otherwise they are there already: every
    score the boards move is mirrored with its holder's name, and names never change once registered."""
    season = current_season(board, tz)
    live = store.board_key(board.key, season.key)
    marker, nxt = store.rebuild_marker(board.key, season.key), store.next_key(board.key, season.key)
    token = uuid.uuid4().hex
    if not await redis.eval(_START, 2, marker, nxt, token, str(MARKER_TTL_MS)):  # type: ignore[misc]
        raise DomainError(ErrorCode.CONFLICT, f"board {board.key} is being rebuilt by another process")
    try:
        repaired = await repair(board, season)
        names_field = store.names_written(board.key, season.key)
        names = names or bool(repaired) or not await redis.hexists(store.NAMES, names_field)  # type: ignore[misc]
        total = await _count(
            get_connection("default"),
            "SELECT COUNT(*) AS n FROM leaderboard_score WHERE board_id = $1 AND season = $2",
            board.id,
            season.key,
        )
        page = await _pages(board, season.key, names)
        done = 0

        async def write(rows: list[tuple[int, str, float, str]]) -> None:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.zadd(nxt, {cid: packed for _, cid, packed, _ in rows}, nx=True)
                if names:
                    pipe.hset(store.NAMES, mapping={cid: name for _, cid, _, name in rows})
                pipe.pexpire(marker, MARKER_TTL_MS)
                await pipe.execute()

        rows = await page(0)
        while rows:
            # The next page is read from the database while this one is written to Redis.
            rows_next, _ = await asyncio.gather(page(rows[-1][0]), write(rows))
            done += len(rows)
            if progress and (shown := progress(done, total)) is not None:
                await shown
            rows = rows_next
        keys = [live, nxt, marker, store.OPT_OUT, store.ready_key(board.key, season.key)]
        members = await redis.eval(_SWAP, len(keys), *keys, token, store.changed_channel(board.key))  # type: ignore[misc]
    except BaseException:
        await redis.eval(_ABANDON, 2, marker, nxt, token)  # type: ignore[misc]
        raise
    if int(members) < 0:
        raise DomainError(ErrorCode.CONFLICT, f"the rebuild of board {board.key} outlived its marker")
    if names:
        await redis.hset(store.NAMES, names_field, "1")  # type: ignore[misc]
    if progress and (done == 0 or done != total) and (shown := progress(done, done)) is not None:
        await shown  # opted-out customers were counted in `total`
    return Rebuilt(int(members), repaired)


async def rebuild(
    redis: Redis,
    tz: ZoneInfo,
    key: str | None = None,
    progress: Callable[[Leaderboard], Progress] | None = None,
    *,
    names: bool = False,
) -> dict[str, Rebuilt]:
    await rebuild_opt_outs(redis)
    boards = [await board_by_key(key, live=True)] if key else await live_boards()
    return {
        b.key: await rebuild_board(redis, b, tz, progress(b) if progress else None, names=names)
        for b in boards
    }


async def restore_missing(redis: Redis, tz: ZoneInfo) -> list[str]:
    """The sweeper's part: after a Redis wipe, every board (and the opt-outs) comes back from the database."""
    if not await redis.exists(OPT_OUT_READY):
        await rebuild_opt_outs(redis)
    rebuilt = []
    for board in await live_boards():
        if not await redis.exists(store.ready_key(board.key, current_season(board, tz).key)):
            try:
                await rebuild_board(redis, board, tz)
            except DomainError:
                continue  # being rebuilt by someone else: it will be ready when they are done
            rebuilt.append(board.key)
    return rebuilt
