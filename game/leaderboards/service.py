"""Leaderboards: marketers define boards, the engine moves scores, customers read ranks.

A customer's score on a board season lives in `leaderboard_score`, updated by the engine's reaction
(game/leaderboards/engine.py) in the transaction of the event that moved it. Redis mirrors it after commit
(game/leaderboards/store.py); customers read the mirror, marketers the database (every customer, opted-out
ones included). Past seasons are read from the standings snapshotted when they closed (game/leaderboards/
seasons.py).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from game.challenges.models import Challenge
from game.customers.models import Customer
from game.errors import DomainError, ErrorCode, bad_input
from game.leaderboards import store
from game.leaderboards.errors import LeaderboardReason as R
from game.leaderboards.models import (
    BoardPeriod,
    Leaderboard,
    LeaderboardOptOut,
    LeaderboardResult,
    LeaderboardScore,
    Metric,
)
from game.leaderboards.names import shown_name
from game.leaderboards.periods import Season, season_at
from game.leaderboards.ranking import Standing, competition_ranks, pack
from game.rules.generation import bump

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_PAGE = 100
MAX_RADIUS = 25


@dataclass(frozen=True, slots=True)
class Prize:
    from_rank: int
    to_rank: int
    points: int


@dataclass(frozen=True, slots=True)
class NewBoard:
    key: str
    title: str
    metric: Metric
    period: BoardPeriod
    challenge_id: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    prizes: tuple[Prize, ...] = ()


def _checked(new: NewBoard, now: datetime) -> tuple[datetime, list[dict[str, int]]]:
    if not KEY_PATTERN.match(new.key):
        raise bad_input(
            "key must be 1-64 lowercase letters, digits or '-', starting with a letter or digit", "key"
        )
    if not new.title.strip() or len(new.title) > 120:
        raise bad_input("title must be 1-120 characters", "title")
    if new.challenge_id is not None and new.metric is not Metric.CHALLENGES_COMPLETED:
        raise bad_input("challengeId is only for a CHALLENGES_COMPLETED board", "challengeId")
    starts_at = new.starts_at or now
    if new.period is BoardPeriod.SEASON and (new.starts_at is None or new.ends_at is None):
        raise bad_input("a SEASON board needs startsAt and endsAt", "endsAt", reason=R.BAD_WINDOW)
    if new.ends_at is not None and new.ends_at <= starts_at:
        raise bad_input("endsAt must be after startsAt", "endsAt", reason=R.BAD_WINDOW)
    prizes = sorted(new.prizes, key=lambda p: p.from_rank)
    for i, p in enumerate(prizes):
        if not 1 <= p.from_rank <= p.to_rank <= 10_000 or not 0 < p.points <= 1_000_000:
            raise bad_input(
                "ranks 1-10000 with fromRank <= toRank, points 1-1000000", "prizes", reason=R.BAD_PRIZES
            )
        if i and p.from_rank <= prizes[i - 1].to_rank:
            raise bad_input("prize ranks overlap", "prizes", reason=R.BAD_PRIZES)
    return starts_at, [{"from_rank": p.from_rank, "to_rank": p.to_rank, "points": p.points} for p in prizes]


async def create_board(new: NewBoard) -> Leaderboard:
    now = datetime.now(UTC)
    starts_at, prizes = _checked(new, now)
    if new.challenge_id is not None and not await Challenge.filter(id=new.challenge_id).exists():
        raise DomainError(ErrorCode.NOT_FOUND, "no such challenge", field="challengeId")
    try:
        async with in_transaction() as conn:
            await bump(conn)  # the engine's snapshot holds the live boards
            return await Leaderboard.create(
                key=new.key,
                title=new.title.strip(),
                metric=new.metric,
                period=new.period,
                challenge_id=new.challenge_id,
                starts_at=starts_at,
                ends_at=new.ends_at,
                prizes=prizes,
                using_db=conn,
            )
    except IntegrityError:
        raise DomainError(
            ErrorCode.CONFLICT, "a board has this key", field="key", reason=R.KEY_TAKEN
        ) from None
    finally:
        forget_board(new.key)


async def archive_board(key: str) -> Leaderboard:
    forget_board(key)
    board = await board_by_key(key)
    forget_board(key)
    if board.archived_at is None:
        async with in_transaction() as conn:
            await bump(conn)  # the engine's snapshot holds the live boards
            board.archived_at = datetime.now(UTC)
            await board.save(using_db=conn, update_fields=["archived_at"])
    return board


# Board definitions change rarely (created, archived) and every board read needs one: each process keeps
# them for BOARD_CACHE_S, so an archive made by another process shows there within that time.
BOARD_CACHE_S = 2.0
_boards: dict[str, tuple[float, Leaderboard | None]] = {}


async def board_by_key(key: str, *, live: bool = False) -> Leaderboard:
    now = time.monotonic()
    cached = _boards.get(key)
    if cached is None or cached[0] < now:
        if len(_boards) > 1000:
            _boards.clear()
        cached = (now + BOARD_CACHE_S, await Leaderboard.filter(key=key).first())
        _boards[key] = cached
    board = cached[1]
    if board is None or (live and board.archived_at is not None):
        raise DomainError(ErrorCode.NOT_FOUND, "no such leaderboard", field="key", reason=R.UNKNOWN_BOARD)
    return board


def forget_board(key: str) -> None:
    _boards.pop(key, None)


async def live_boards(now: datetime | None = None) -> list[Leaderboard]:
    """Boards not archived whose window has not ended, oldest first."""
    now = now or datetime.now(UTC)
    boards = await Leaderboard.filter(archived_at=None).order_by("id")
    return [b for b in boards if b.ends_at is None or b.ends_at > now]


# The season last found per board and timezone, with the board object it was found for and the moments (POSIX
# seconds, from inclusive, until exclusive) it is the live one: a board screen asks for it once per field, and
# a week's or a month's bounds take timezone arithmetic to work out, aware datetimes' comparisons too.
_seasons: dict[tuple[int, ZoneInfo], tuple[Leaderboard, Season, float, float]] = {}


def current_season(board: Leaderboard, tz: ZoneInfo, now: datetime | None = None) -> Season:
    """The season live now; before a board starts, its first; after it ends, its last."""
    cached = _seasons.get((board.id, tz))
    if cached is not None and cached[0] is board:
        moment = time.time() if now is None else now.timestamp()
        if cached[2] <= moment < cached[3]:
            return cached[1]
    at = max(now or datetime.now(UTC), board.starts_at)
    if board.ends_at is not None:
        at = min(at, board.ends_at - timedelta(microseconds=1))
    found = season_at(board, at, tz)
    assert found is not None  # `at` is inside the window
    # Before the board starts its first season is the live one, after it ends its last.
    since = -math.inf if found.starts_at <= board.starts_at else found.starts_at.timestamp()
    last = found.ends_at is None or (board.ends_at is not None and found.ends_at >= board.ends_at)
    until = math.inf if last or found.ends_at is None else found.ends_at.timestamp()
    if len(_seasons) > 1000:
        _seasons.clear()
    _seasons[(board.id, tz)] = (board, found, since, until)
    return found


# ------------------------------------------------------------------------------------------------ reading


Shown = store.Shown  # an entry as a viewer sees it


@dataclass(frozen=True, slots=True)
class Listing:
    entries: list[Shown]
    total: int
    offset: int


def _checked_page(offset: int, first: int) -> None:
    if not 0 <= first <= MAX_PAGE:
        raise bad_input(f"first must be between 0 and {MAX_PAGE}", "first")
    if offset < 0:
        raise bad_input("after is not a cursor returned by this API", "after")


async def listing(
    redis: Redis, key: str, season: str | None, offset: int, first: int, tz: ZoneInfo, me: UUID | None
) -> Listing:
    """A customer's view: the live season from Redis, a past one from its final standings."""
    _checked_page(offset, first)
    board = await board_by_key(key)
    live = current_season(board, tz)
    if season is not None and season != live.key:
        return await results_listing(board, season, offset, first, me)
    async with store.available():
        mine = None if me is None else str(me)
        page = await store.page(redis, store.board_key(board.key, live.key), offset, first, mine)
    return Listing(page.entries, page.total, offset)


async def around_me(redis: Redis, key: str, customer_id: UUID, radius: int, tz: ZoneInfo) -> list[Shown]:
    if not 0 <= radius <= MAX_RADIUS:
        raise bad_input(f"radius must be between 0 and {MAX_RADIUS}", "radius")
    board = await board_by_key(key)
    zkey = store.board_key(board.key, current_season(board, tz).key)
    async with store.available():
        return await store.around(redis, zkey, str(customer_id), radius)


async def my_rank(redis: Redis, key: str, customer_id: UUID, tz: ZoneInfo) -> Shown | None:
    board = await board_by_key(key)
    zkey = store.board_key(board.key, current_season(board, tz).key)
    async with store.available():
        return await store.mine(redis, zkey, str(customer_id))


async def top(redis: Redis, key: str, tz: ZoneInfo, me: UUID | None, size: int = 10) -> list[Shown]:
    return (await listing(redis, key, None, 0, size, tz, me)).entries


async def _names(customer_ids: list[UUID]) -> dict[str, str]:
    rows = await Customer.filter(id__in=customer_ids).values_list("id", "display_name")
    return {str(cid): shown_name(str(cid), name) for cid, name in rows}


async def marketer_listing(key: str, season: str | None, offset: int, first: int, tz: ZoneInfo) -> Listing:
    """The real board, from the database: every customer, opted out or not."""
    _checked_page(offset, first)
    board = await board_by_key(key)
    live = current_season(board, tz)
    if season is not None and season != live.key:
        return await results_listing(board, season, offset, first, None)
    rows = (
        await LeaderboardScore.filter(board_id=board.id, season=live.key)
        .order_by("-score", "reached_at", "customer_id")
        .offset(offset)
        .limit(first)
        .values_list("customer_id", "score")
    )
    total = await LeaderboardScore.filter(board_id=board.id, season=live.key).count()
    if not rows:
        return Listing([], total, offset)
    above = await LeaderboardScore.filter(board_id=board.id, season=live.key, score__gt=rows[0][1]).count()
    scores = [int(score) for _, score in rows]
    ranks = competition_ranks(scores, above + 1, offset + 1)
    names = await _names([cid for cid, _ in rows])
    entries = [Shown(rank, s, names[str(cid)], False) for (cid, s), rank in zip(rows, ranks, strict=True)]
    return Listing(entries, total, offset)


async def results_listing(
    board: Leaderboard, season: str, offset: int, first: int, me: UUID | None
) -> Listing:
    query = LeaderboardResult.filter(board_id=board.id, season=season)
    total = await query.count()
    if total == 0:
        raise DomainError(
            ErrorCode.NOT_FOUND, "no closed season of that name", field="season", reason=R.UNKNOWN_SEASON
        )
    rows = (
        await query.order_by("position")
        .offset(offset)
        .limit(first)
        .values_list("customer_id", "score", "rank")
    )
    names = await _names([cid for cid, _, _ in rows])
    entries = [Shown(int(rank), int(s), names[str(cid)], cid == me) for cid, s, rank in rows]
    return Listing(entries, total, offset)


async def season_results(key: str, season: str, me: UUID | None) -> list[Shown]:
    board = await board_by_key(key)
    return (await results_listing(board, season, 0, 10_000, me)).entries


# ------------------------------------------------------------------------------------------------ opt-out


async def _live_standings(customer_id: UUID, tz: ZoneInfo) -> list[Standing]:
    """The customer's scores on the live season of every live board, as the boards should hold them."""
    boards = await live_boards()
    if not boards:
        return []
    customer = await Customer.filter(id=customer_id).first()
    name = shown_name(str(customer_id), customer.display_name if customer else None)
    by_id = {b.id: b for b in boards}
    seasons = {b.id: current_season(b, tz).key for b in boards}
    rows = await LeaderboardScore.filter(customer_id=customer_id, board_id__in=list(by_id))
    return [
        Standing(
            by_id[r.board_id].key,
            r.season,
            str(customer_id),
            pack(r.score, r.reached_at, by_id[r.board_id].starts_at),
            name,
        )
        for r in rows
        if seasons[r.board_id] == r.season
    ]


async def set_opt_out(redis: Redis, customer_id: UUID, opt_out: bool, tz: ZoneInfo) -> bool:
    """Recorded first, then applied to every board at once; the sweeper's rebuild would apply it too."""
    if opt_out:
        await LeaderboardOptOut.get_or_create(customer_id=customer_id)
        boards = await live_boards()
        seasons = [(b.key, current_season(b, tz).key) for b in boards]
        await store.hide(redis, str(customer_id), seasons)
    else:
        await LeaderboardOptOut.filter(customer_id=customer_id).delete()
        await store.show(redis, str(customer_id), await _live_standings(customer_id, tz))
    return opt_out


async def resync_customer(redis: Redis, customer_id: UUID, tz: ZoneInfo) -> None:
    """For a replayed event whose first run may have died between commit and mirror: the mirror again."""
    await store.mirror(redis, await _live_standings(customer_id, tz))


async def opted_out_ids() -> list[str]:
    return [str(cid) for cid in await LeaderboardOptOut.all().values_list("customer_id", flat=True)]


def prizes_of(board: Leaderboard) -> list[Prize]:
    raw: list[dict[str, Any]] = board.prizes
    return [Prize(int(p["from_rank"]), int(p["to_rank"]), int(p["points"])) for p in raw]
