"""Which season of a board a moment falls in: weeks and months of the programme's timezone, from local
midnight, DST included (the challenges' own periods, reused)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from game.challenges.models import Recurrence
from game.challenges.periods import period_at
from game.leaderboards.models import BoardPeriod, Leaderboard

ALL_TIME = "all"
_RECURRENCE = {BoardPeriod.WEEKLY: Recurrence.WEEKLY, BoardPeriod.MONTHLY: Recurrence.MONTHLY}


@dataclass(frozen=True, slots=True)
class Season:
    key: str  # "all", "2026-W44", "2026-11", or the SEASON board's start day "2026-11-01"
    starts_at: datetime
    ends_at: datetime | None


def season_at(board: Leaderboard, moment: datetime, tz: ZoneInfo) -> Season | None:
    """The season of `board` containing `moment`; None outside the board's window."""
    if moment < board.starts_at or (board.ends_at is not None and moment >= board.ends_at):
        return None
    if board.period is BoardPeriod.ALL_TIME:
        return Season(ALL_TIME, board.starts_at, board.ends_at)
    if board.period is BoardPeriod.SEASON:
        return Season(board.starts_at.astimezone(tz).date().isoformat(), board.starts_at, board.ends_at)
    period = period_at(_RECURRENCE[board.period], moment, tz, board.starts_at, board.ends_at)
    return Season(period.key, period.starts_at, period.ends_at)
