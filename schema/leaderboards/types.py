from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum
from typing import cast
from zoneinfo import ZoneInfo

import strawberry

from game.errors import bad_input
from game.leaderboards.models import BoardPeriod, Metric
from game.leaderboards.models import Leaderboard as BoardModel
from game.leaderboards.service import Listing, NewBoard, Prize, Shown, current_season, prizes_of
from schema.ids import reference
from schema.ledger.types import PageInfo


@strawberry.enum(description="What a leaderboard ranks customers by.")
class LeaderboardMetric(Enum):
    POINTS_EARNED = strawberry.enum_value(
        Metric.POINTS_EARNED.value,
        description="Points earned in the period (purchases, bonuses, rewards) minus their reversals "
        "(refunds, clawbacks); spending points does not lower it.",
    )
    CO2E_SAVED = strawberry.enum_value(
        Metric.CO2E_SAVED.value, description="Grams of CO2e saved by eco actions in the period."
    )
    CHALLENGES_COMPLETED = strawberry.enum_value(
        Metric.CHALLENGES_COMPLETED.value,
        description="Challenge completions in the period (of one challenge when the board has one).",
    )


@strawberry.enum(description="How often a leaderboard starts afresh.")
class LeaderboardPeriod(Enum):
    ALL_TIME = strawberry.enum_value(BoardPeriod.ALL_TIME.value, description="Never: one season, 'all'.")
    WEEKLY = strawberry.enum_value(
        BoardPeriod.WEEKLY.value,
        description="Every ISO week from Monday midnight in the programme's timezone; seasons like "
        "'2026-W48'.",
    )
    MONTHLY = strawberry.enum_value(
        BoardPeriod.MONTHLY.value,
        description="Every month from local midnight of its first day; seasons like '2026-11'.",
    )
    SEASON = strawberry.enum_value(
        BoardPeriod.SEASON.value,
        description="One season from startsAt to endsAt, named after its first local day ('2026-11-01').",
    )


@strawberry.type(description="A prize paid when a season closes to every customer ranked in a range.")
class LeaderboardPrize:
    from_rank: int = strawberry.field(description="The first rank paid (1 is the top).")
    to_rank: int = strawberry.field(description="The last rank paid, inclusive.")
    points: int = strawberry.field(description="Points each of them earns.")


@strawberry.input(description="A prize range of a new leaderboard.")
class LeaderboardPrizeInput:
    from_rank: int = strawberry.field(description="The first rank paid, 1-10000.")
    to_rank: int = strawberry.field(description="The last rank paid, inclusive, at least fromRank.")
    points: int = strawberry.field(description="Points per customer, 1-1000000.")


@strawberry.type(description="A leaderboard: customers ranked by one metric over a period.")
class Leaderboard:
    key: str = strawberry.field(description="Its unique key, chosen by the marketer, e.g. 'weekly-points'.")
    title: str = strawberry.field(description="What customers read.")
    metric: LeaderboardMetric = strawberry.field(description="What it ranks by.")
    period: LeaderboardPeriod = strawberry.field(description="How often it starts afresh.")
    season: str = strawberry.field(description="The season live now, e.g. '2026-W48', '2026-11' or 'all'.")
    season_ends_at: datetime | None = strawberry.field(
        description="When the live season closes and its prizes are paid; null if it never does."
    )
    prizes: list[LeaderboardPrize] = strawberry.field(description="Paid when each season closes.")
    challenge_id: strawberry.ID | None = strawberry.field(
        description="The challenge whose completions it counts; null for every challenge or another metric."
    )
    archived: bool = strawberry.field(description="Archived boards are no longer live nor moved.")

    @classmethod
    def from_model(cls, board: BoardModel, tz: ZoneInfo) -> Leaderboard:
        season = current_season(board, tz)
        return cls(
            key=board.key,
            title=board.title,
            metric=LeaderboardMetric(board.metric.value),
            period=LeaderboardPeriod(board.period.value),
            season=season.key,
            season_ends_at=season.ends_at,
            prizes=[
                LeaderboardPrize(from_rank=p.from_rank, to_rank=p.to_rank, points=p.points)
                for p in prizes_of(board)
            ],
            challenge_id=strawberry.ID(str(board.challenge_id)) if board.challenge_id else None,
            archived=board.archived_at is not None,
        )


@strawberry.input(description="A new leaderboard.")
class LeaderboardInput:
    key: str = strawberry.field(
        description="Unique: 1-64 lowercase letters, digits or '-'; CONFLICT if taken."
    )
    title: str = strawberry.field(description="What customers read, 1-120 characters.")
    metric: LeaderboardMetric = strawberry.field(description="What it ranks by.")
    period: LeaderboardPeriod = strawberry.field(description="How often it starts afresh.")
    challenge_id: strawberry.ID | None = strawberry.field(
        default=None, description="For CHALLENGES_COMPLETED: count only this challenge's completions."
    )
    starts_at: datetime | None = strawberry.field(
        default=None, description="When it starts counting; now if absent. Required for SEASON."
    )
    ends_at: datetime | None = strawberry.field(
        default=None, description="When it stops counting (its last season closes then). Required for SEASON."
    )
    prizes: list[LeaderboardPrizeInput] = strawberry.field(
        default_factory=list, description="Prize ranges, not overlapping; none by default."
    )

    def to_new(self) -> NewBoard:
        return NewBoard(
            key=self.key,
            title=self.title,
            metric=Metric[self.metric.name],
            period=BoardPeriod[self.period.name],
            challenge_id=_challenge(self.challenge_id),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            prizes=tuple(Prize(p.from_rank, p.to_rank, p.points) for p in self.prizes),
        )


def _challenge(value: strawberry.ID | None) -> int | None:
    if value is None:
        return None
    found = reference(value)
    if not found:
        raise bad_input("no challenge with this id", "challengeId")
    return found


@strawberry.type(description="One customer's place on a board: never their e-mail or id.")
class LeaderboardEntry:
    rank: int = strawberry.field(
        description="1 for the top; equal scores share a rank (1, 2, 2, 4), listed in the order their "
        "holders reached that score."
    )
    score: int = strawberry.field(description="Points, grams of CO2e or completions, by the board's metric.")
    display_name: str = strawberry.field(description="The display name, or a pseudonym when it is empty.")
    is_me: bool = strawberry.field(description="Whether this is the signed-in customer.")


def entries(shown: list[Shown]) -> list[LeaderboardEntry]:
    """The domain's entries shown as they are: a Shown has every field of LeaderboardEntry under the same
    name (tests/schema/test_leaderboard_entries.py), and graphql-core reads fields off any object; a copy
    of each entry was 2% of a board screen's CPU."""
    return cast(list[LeaderboardEntry], shown)


def entry(shown: Shown) -> LeaderboardEntry:
    return cast(LeaderboardEntry, shown)


@strawberry.type(description="A page of a board, best first.")
class LeaderboardPage:
    entries: list[LeaderboardEntry] = strawberry.field(description="At most `first` entries, best first.")
    total: int = strawberry.field(description="How many customers the board ranks.")
    page_info: PageInfo = strawberry.field(description="Whether and where the next page starts.")

    @classmethod
    def from_listing(cls, listing: Listing) -> LeaderboardPage:
        end = listing.offset + len(listing.entries)
        return cls(
            entries=entries(listing.entries),
            total=listing.total,
            page_info=PageInfo(
                has_next_page=end < listing.total, end_cursor=encode_cursor(end) if listing.entries else None
            ),
        )


_CURSOR_PREFIX = "board:"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        offset = int(text.removeprefix(_CURSOR_PREFIX))
        if not 0 <= offset <= 10**9:
            raise ValueError(text)
        return offset
    except ValueError:
        raise bad_input("after is not a cursor returned by this API", "after") from None
