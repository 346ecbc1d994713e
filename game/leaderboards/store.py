"""The Redis side of the boards: one sorted set per board season, a mirror of `leaderboard_score`.

    lb:<board>:<season>          sorted set: customer id -> packed score (game/leaderboards/ranking.py)
    lb:<board>:<season>:next     the set a rebuild is building, swapped in with RENAME when complete
    lb:rebuild:<board>:<season>  set while a rebuild builds `:next` (its token, with a time to live)
    lb:names                     hash: customer id -> the name boards show (and `written:<board>:<season>`)
    lb:optout                    set: customers hidden from every board
    lb:optout:rebuilding         set while the opt-out set is rebuilt (its token, with a time to live)
    lb:optout:journal            list: the opt-outs (+id) and opt-ins (-id) made meanwhile, in order
    lb:ready:<board>:<season>    set once the season's set was built: the sweeper rebuilds those missing
    lb:changed:<board>           pub/sub channel: a board moved (the subscription reads the top itself)

Writes are absolute (ZADD of the value the database holds), so applying one twice changes nothing. A write
for an opted-out customer is skipped by the script that makes it, atomically, so an opt-out that lands
between the database commit and the mirror cannot be undone by it. While a rebuild runs, every write also
goes into the set it builds, which the rebuild itself only fills where nothing was written (ZADD NX): an
update that lands during a rebuild survives the swap (game/leaderboards/rebuild.py).

Reads are one script each (rank, score, neighbours and names in one round trip); ranks are worked out by
game/leaderboards/ranking.py from what they return.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from game.errors import DomainError, ErrorCode
from game.leaderboards.ranking import TIE_SPAN, Standing, competition_ranks, unpack

NAMES = "lb:names"
OPT_OUT = "lb:optout"

_MIRROR = """
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  if redis.call('EXISTS', KEYS[4]) == 1 then
    redis.call('ZADD', KEYS[5], ARGV[2], ARGV[1])
  end
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
"""

# The least packed value of a strictly higher score than the packed ARGV: ZCOUNT from there counts those
# ranked above (ranking.higher_than, in Lua: exact, packed values are integers below 2^53).
_ABOVE = f"""
local function above(key, packed)
  local span = {TIE_SPAN}
  return redis.call('ZCOUNT', key, (math.floor(tonumber(packed) / span) + 1) * span, '+inf')
end
-- Appends id, packed score and name for each (id, score) pair of ZREVRANGE ... WITHSCORES.
local function with_names(out, rows, names_key)
  local ids = {{}}
  for i = 1, #rows, 2 do ids[#ids + 1] = rows[i] end
  local names = redis.call('HMGET', names_key, unpack(ids))
  for i = 1, #ids do
    out[#out + 1] = rows[2 * i - 1]; out[#out + 1] = rows[2 * i]; out[#out + 1] = names[i] or ''
  end
  return out
end
"""

# KEYS: board, names; ARGV: offset, limit -> {total, above the first, id, packed, name, id, packed, ...}
_PAGE = (
    _ABOVE
    + """
local rows = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[1] + ARGV[2] - 1, 'WITHSCORES')
local total = redis.call('ZCARD', KEYS[1])
if #rows == 0 then return {total, 0} end
return with_names({total, above(KEYS[1], rows[2])}, rows, KEYS[2])
"""
)

# KEYS: board, names; ARGV: customer, radius -> {first index, above the first, id, packed, name, ...} or {}
_AROUND = (
    _ABOVE
    + """
local index = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if not index then return {} end
local start = math.max(index - ARGV[2], 0)
local rows = redis.call('ZREVRANGE', KEYS[1], start, index + ARGV[2], 'WITHSCORES')
return with_names({start, above(KEYS[1], rows[2])}, rows, KEYS[2])
"""
)

# KEYS: board, names; ARGV: customer -> {packed, above, name} or {}
_MINE = (
    _ABOVE
    + """
local packed = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not packed then return {} end
return {packed, above(KEYS[1], packed), redis.call('HGET', KEYS[2], ARGV[1]) or ''}
"""
)


@dataclass(frozen=True, slots=True)
class _Script:
    text: str
    sha: str

    @classmethod
    def of(cls, text: str) -> _Script:
        return cls(text, hashlib.sha1(text.encode()).hexdigest())

    async def __call__(self, redis: Redis, keys: list[str], *args: Any) -> Any:
        """EVALSHA: the script's text crosses the network once per Redis (again after a flush)."""
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)  # type: ignore[misc]
        except NoScriptError:
            return await redis.eval(self.text, len(keys), *keys, *args)  # type: ignore[misc]


# Public for bench/baseline_leaderboard.py, which makes the same calls.
READ_PAGE, READ_AROUND, READ_MINE = _Script.of(_PAGE), _Script.of(_AROUND), _Script.of(_MINE)


def board_key(board: str, season: str) -> str:
    return f"lb:{board}:{season}"


def next_key(board: str, season: str) -> str:
    return f"lb:{board}:{season}:next"


def rebuild_marker(board: str, season: str) -> str:
    return f"lb:rebuild:{board}:{season}"


def names_written(board: str, season: str) -> str:
    """A field of the names hash: every name of the season's set was written (no customer id is like it)."""
    return f"written:{board}:{season}"


def ready_key(board: str, season: str) -> str:
    return f"lb:ready:{board}:{season}"


def changed_channel(board: str) -> str:
    return f"lb:changed:{board}"


class _Available:
    """Redis unreachable: the board cannot be read, which is not the client's fault nor a bug. (A class, not
    a generator: it wraps each of a board screen's reads.)"""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: Any
    ) -> None:
        if isinstance(error, RedisConnectionError | RedisTimeoutError | OSError):
            raise DomainError(
                ErrorCode.SERVICE_UNAVAILABLE, "leaderboards are unavailable, retry later"
            ) from error


_AVAILABLE = _Available()


def available() -> _Available:
    return _AVAILABLE


async def mirror(redis: Redis, standings: Iterable[Standing]) -> None:
    """After commit: the boards take the values the database now holds, and say that they moved."""
    standings = list(standings)
    if not standings:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for s in standings:
            _write(pipe, s)
        for board in sorted({s.board_key for s in standings}):
            pipe.publish(changed_channel(board), "1")
        await pipe.execute()


def _write(pipe: Any, s: Standing) -> None:
    keys = [
        board_key(s.board_key, s.season),
        OPT_OUT,
        NAMES,
        rebuild_marker(s.board_key, s.season),
        next_key(s.board_key, s.season),
    ]
    pipe.eval(_MIRROR, len(keys), *keys, s.customer_id, repr(s.packed), s.name)


# While the opt-out set is rebuilt from the database (game/leaderboards/rebuild.py), every opt-out and opt-in
# is also written down here, in order, for the rebuild to apply to the set it swaps in.
OPT_OUT_REBUILDING = "lb:optout:rebuilding"
OPT_OUT_JOURNAL = "lb:optout:journal"

# KEYS: rebuilding marker, journal; ARGV: '+' or '-' and the customer id
_JOURNAL = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[1]) end
return 1
"""


async def hide(redis: Redis, customer_id: str, seasons: Iterable[tuple[str, str]]) -> None:
    """Opt-out: off every board (board key, season) at once (MULTI), the sets being rebuilt included,
    and kept off by the mirror script (and by the rebuild's swap)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.sadd(OPT_OUT, customer_id)
        pipe.eval(_JOURNAL, 2, OPT_OUT_REBUILDING, OPT_OUT_JOURNAL, f"+{customer_id}")
        for board, season in seasons:
            pipe.zrem(board_key(board, season), customer_id)
            pipe.zrem(next_key(board, season), customer_id)
        await pipe.execute()


async def show(redis: Redis, customer_id: str, standings: Iterable[Standing]) -> None:
    """Opt-in: back on every board with the scores the database holds."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.srem(OPT_OUT, customer_id)
        pipe.eval(_JOURNAL, 2, OPT_OUT_REBUILDING, OPT_OUT_JOURNAL, f"-{customer_id}")
        for s in standings:
            _write(pipe, s)
        await pipe.execute()


@dataclass(slots=True)  # not frozen: a frozen dataclass costs three times as much to build, per entry
class Shown:
    """An entry as a viewer sees it: no customer id. The schema shows it as it is (LeaderboardEntry)."""

    rank: int
    score: int
    display_name: str
    is_me: bool


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[Shown]
    total: int


def _entries(values: list[Any], offset: int, me: str | None) -> list[Shown]:
    """Entries of what a read script returns after its two leading numbers: listed from `offset`
    (0-based), the first of them with values[1] customers above; `me` is the viewer's customer id."""
    triples = values[2:]
    if not triples:
        return []
    scores = [unpack(float(packed)) for packed in triples[1::3]]
    ranks = competition_ranks(scores, int(values[1]) + 1, offset + 1)
    mine = None if me is None else me.encode()
    return [
        Shown(rank, score, name.decode(), member == mine)
        for member, score, name, rank in zip(triples[0::3], scores, triples[2::3], ranks, strict=True)
    ]


async def page(redis: Redis, key: str, offset: int, limit: int, me: str | None) -> Page:
    if limit == 0:
        return Page([], int(await redis.zcard(key)))
    values = await READ_PAGE(redis, [key, NAMES], offset, limit)
    return Page(_entries(values, offset, me), int(values[0]))


async def around(redis: Redis, key: str, customer_id: str, radius: int) -> list[Shown]:
    values = await READ_AROUND(redis, [key, NAMES], customer_id, radius)
    return _entries(values, int(values[0]), customer_id) if values else []


async def mine(redis: Redis, key: str, customer_id: str) -> Shown | None:
    values = await READ_MINE(redis, [key, NAMES], customer_id)
    if not values:
        return None
    return Shown(int(values[1]) + 1, unpack(float(values[0])), values[2].decode(), True)


async def drop(redis: Redis, board: str, season: str) -> None:
    await redis.delete(board_key(board, season), ready_key(board, season), next_key(board, season))
