"""Closing a season: once, however often or late the cron runs.

A season that has scores has a `leaderboard_season` row. Once its end has passed, the close claims the row
(closed_at set where it was null: a second run, or a second worker, claims nothing), snapshots the final
standings into `leaderboard_result` (opted-out customers left out), and pays each prize through the award
path under `leaderboard:<board>:<season>:<customer>`, one per customer and season, with its notification,
all in one transaction. After commit the winners' balances are pushed, the notifications delivered, and
the season's Redis set is dropped: the next season's set starts empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from game.awards import keys
from game.awards.keys import Reason
from game.awards.service import Award, Notice, grant
from game.leaderboards.models import Leaderboard, LeaderboardResult, LeaderboardSeason
from game.leaderboards.ranking import competition_ranks
from game.leaderboards.service import prizes_of
from game.ledger.live import granted_updates
from game.ledger.models import EntryKind
from game.live import Update
from game.notifications.models import NotificationKind
from game.sql import fetch_all, fetch_one


@dataclass(slots=True)
class Closed:
    seasons: list[tuple[str, str]] = field(default_factory=list)  # (board key, season)
    notifications: list[str] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)  # the winners' pointsChanged, after commit


async def close_due_seasons(now: datetime | None = None) -> Closed:
    now = now or datetime.now(UTC)
    closed = Closed()
    due = await LeaderboardSeason.filter(closed_at=None, ends_at__lte=now).order_by("id")
    for season in due:
        await _close(season.id, now, closed)
    return closed


async def _close(season_id: int, now: datetime, closed: Closed) -> None:
    async with in_transaction() as conn:
        claimed = await fetch_one(
            "UPDATE leaderboard_season SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL "
            "RETURNING board_id, season",
            now,
            season_id,
            conn=conn,
        )
        if claimed is None:
            return  # closed by an earlier run or another worker
        board = await Leaderboard.filter(id=claimed["board_id"]).using_db(conn).get()
        season = str(claimed["season"])
        rows = await fetch_all(
            conn,
            "SELECT s.customer_id, s.score FROM leaderboard_score s WHERE s.board_id = $1 AND s.season = $2 "
            "AND NOT EXISTS (SELECT 1 FROM leaderboard_opt_out o WHERE o.customer_id = s.customer_id) "
            "ORDER BY s.score DESC, s.reached_at, s.customer_id",
            board.id,
            season,
        )
        scores = [int(r["score"]) for r in rows]
        ranks = competition_ranks(scores, 1, 1)
        await LeaderboardResult.bulk_create(
            [
                LeaderboardResult(
                    board_id=board.id,
                    season=season,
                    customer_id=r["customer_id"],
                    rank=rank,
                    position=i + 1,
                    score=s,
                )
                for i, (r, s, rank) in enumerate(zip(rows, scores, ranks, strict=True))
            ],
            using_db=conn,
        )
        prizes = prizes_of(board)
        for r, score, rank in zip(rows, scores, ranks, strict=True):
            prize = next((p for p in prizes if p.from_rank <= rank <= p.to_rank), None)
            if prize is None or score <= 0:
                continue
            award = Award(
                customer_id=r["customer_id"],
                points=prize.points,
                kind=EntryKind.BONUS,
                reason=Reason.LEADERBOARD_PRIZE,
                key=keys.leaderboard_prize(board.key, season, r["customer_id"]),
                text=f"Leaderboard prize: {board.title} ({season}), rank {rank}"[:200],
                notice=Notice(
                    NotificationKind.LEADERBOARD_PRIZE,
                    {"board": board.key, "title": board.title, "season": season, "rank": rank},
                ),
            )
            granted = await grant(conn, award)
            closed.notifications.append(granted.key)
            closed.updates += granted_updates(award.customer_id, [granted])
    closed.seasons.append((board.key, season))
