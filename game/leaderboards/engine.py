"""Moving the boards, in the transaction that changed what they count (game/leaderboards/truth.py).

The engine's reaction runs last, after every reaction that pays, so the event's ledger entries and grants
are all written; it moves each customer the event paid (the event's own customer, and for a qualifying
purchase the referrers up its chain) by what the event contributes, on the season the event occurred in.
A path that posts awards for an event processed earlier (a challenge backfill, a referral reward approved
later, points released after a return window) calls `count_posted` in its own transaction with the keys it
posted. The rows of `leaderboard_score` are written in those transactions, whose award keys are unique, so
a replay moves nothing; the standings returned are mirrored into Redis after commit as absolute values.

Every writer takes its boards' lock shared (PostgreSQL); the rebuild takes a board's lock exclusively while
it repairs the board's rows from the truth, so no increment commits between its reading and its writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from game.events.live_rules import live_rules
from game.events.reactions import Reacted, Situation
from game.leaderboards import truth
from game.leaderboards.models import Leaderboard
from game.leaderboards.names import shown_name
from game.leaderboards.periods import Season, season_at
from game.leaderboards.ranking import Standing, pack
from game.rules.generation import current_generation
from game.sql import execute, fetch_all, fetch_one, placeholders

# pg_advisory locks (class, board id): increments take it shared, a rebuild's repair exclusively.
BOARD_LOCK = 7_305_274


@dataclass(frozen=True, slots=True)
class Move:
    board: Leaderboard
    season: Season
    customer_id: UUID
    amount: int
    at: datetime  # when the event that moved it occurred


async def react(s: Situation) -> Reacted:
    # The live boards come with the rules snapshot: an event costs nothing here while there are none.
    boards = s.rules.boards
    if not boards:
        return Reacted()
    moves: list[Move] = []
    read: list[tuple[Leaderboard, list[dict[str, Any]]]] = []
    for board in boards:
        season = season_at(board, s.event.occurred_at, s.tz)
        if season is None:
            continue
        rows = next((r for b, r in read if truth.same_counting(b, board)), None)
        if rows is None:
            sql, params = truth.of_event(board, s.event.id)
            rows = await fetch_all(s.conn, sql, *params)
            read.append((board, rows))
        at = s.event.occurred_at
        moves += [
            Move(board, season, _uuid(r["customer_id"]), int(r["amount"]), at) for r in rows if r["amount"]
        ]
    return Reacted(standings=await apply(s.conn, moves))


async def count_posted(conn: BaseDBAsyncClient, keys: list[str], tz: ZoneInfo) -> list[Standing]:
    """Moves the live boards by what the awards posted under `keys` (in this transaction) contribute to
    events already processed; those of an unprocessed event are counted when it is."""
    if not keys:
        return []
    boards = (await live_rules(conn, await current_generation(conn))).boards
    moves: list[Move] = []
    for board in boards:
        query = truth.of_keys(board, keys)
        if query is None:
            continue
        for r in await fetch_all(conn, query[0], *query[1]):
            at = aware(r["occurred_at"])
            season = season_at(board, at, tz)
            if season is not None and int(r["amount"] or 0):
                moves.append(Move(board, season, _uuid(r["customer_id"]), int(r["amount"]), at))
    return await apply(conn, moves)


async def apply(conn: BaseDBAsyncClient, moves: list[Move]) -> list[Standing]:
    """Adds each move to its row of `leaderboard_score`; returns the standings to mirror after commit."""
    if not moves:
        return []
    if conn.capabilities.dialect == "postgres":
        for board_id in sorted({m.board.id for m in moves}):
            await execute(conn, "SELECT pg_advisory_xact_lock_shared($1, $2)", BOARD_LOCK, board_id)
    for board, season in {(m.board.id, m.season.key): (m.board, m.season) for m in moves}.values():
        await record_season(conn, board, season)
    names = await _names(conn, sorted({m.customer_id for m in moves}))
    standings = []
    for m in moves:
        score, reached_at = await _add(conn, m)
        packed = pack(score, reached_at, m.board.starts_at)
        cid = str(m.customer_id)
        standings.append(
            Standing(m.board.key, m.season.key, cid, packed, names.get(cid, shown_name(cid, None)))
        )
    return standings


async def record_season(conn: BaseDBAsyncClient, board: Leaderboard, season: Season) -> None:
    """The season's row, which season close finds its boards by, made when the season first scores."""
    await fetch_one(
        "INSERT INTO leaderboard_season (board_id, season, ends_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (board_id, season) DO NOTHING RETURNING id",
        board.id,
        season.key,
        season.ends_at,
        conn=conn,
    )


async def _names(conn: BaseDBAsyncClient, customer_ids: list[UUID]) -> dict[str, str]:
    marks = placeholders(len(customer_ids))
    rows = await fetch_all(
        conn, f"SELECT id, display_name FROM customer WHERE id IN ({marks})", *customer_ids
    )
    return {str(r["id"]): shown_name(str(r["id"]), r["display_name"]) for r in rows}


async def _add(conn: BaseDBAsyncClient, m: Move) -> tuple[int, datetime]:
    """The customer's new score, and when they reached it: `reached_at` only moves forward, so events
    processed out of order leave the latest, as the rebuild finds it. The customer's lock (held by
    process_event) orders concurrent events of one customer; the upsert itself is atomic for the others."""
    row = await fetch_one(
        "INSERT INTO leaderboard_score (board_id, season, customer_id, score, reached_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (board_id, season, customer_id) DO UPDATE "
        "SET score = leaderboard_score.score + excluded.score, reached_at = CASE "
        "WHEN excluded.reached_at > leaderboard_score.reached_at THEN excluded.reached_at "
        "ELSE leaderboard_score.reached_at END RETURNING score, reached_at",
        m.board.id,
        m.season.key,
        m.customer_id,
        m.amount,
        m.at,
        conn=conn,
    )
    assert row is not None
    return int(row["score"]), aware(row["reached_at"])


def aware(value: datetime | str | object) -> datetime:
    """A timestamp read by raw SQL: SQLite gives text."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _uuid(value: object) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
