"""Leaderboards: the boards marketers define, and the scores Redis mirrors.

`leaderboard_score` is the truth: the engine updates a customer's score in the transaction of the event that
moved it, and the Redis sorted set of the board's season is a mirror of it (game/leaderboards/store.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer


class Metric(StrEnum):
    POINTS_EARNED = "points_earned"
    CO2E_SAVED = "co2e_saved"
    CHALLENGES_COMPLETED = "challenges_completed"


class BoardPeriod(StrEnum):
    ALL_TIME = "all_time"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    SEASON = "season"


class Leaderboard(Model):
    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    title = fields.CharField(max_length=120)
    metric = fields.CharEnumField(Metric, max_length=32)
    period = fields.CharEnumField(BoardPeriod, max_length=16)
    # A board of one challenge's completions; null: every challenge (or another metric).
    challenge_id = fields.BigIntField(null=True)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField(null=True)
    # [{"from_rank": 1, "to_rank": 3, "points": 100}, ...], paid when a season closes.
    prizes: fields.Field[list[dict[str, Any]]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "leaderboard"


class LeaderboardScore(Model):
    """A customer's score on one season of a board, and when they reached it (the tie-break)."""

    id = fields.BigIntField(primary_key=True)
    board: fields.ForeignKeyRelation[Leaderboard] = fields.ForeignKeyField(
        "models.Leaderboard", related_name="scores", on_delete=fields.RESTRICT
    )
    board_id: int
    season = fields.CharField(max_length=32)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="leaderboard_scores", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    score = fields.BigIntField()
    reached_at = fields.DatetimeField()

    class Meta:
        table = "leaderboard_score"
        unique_together = (("board_id", "season", "customer_id"),)
        # The customer's standings on every live board: without it, a scan of each board's season.
        indexes = (("board_id", "season", "score"), ("customer_id", "board_id"))


class LeaderboardSeason(Model):
    """A season that has scores, closed once after it ends: standings snapshotted, prizes paid."""

    id = fields.BigIntField(primary_key=True)
    board: fields.ForeignKeyRelation[Leaderboard] = fields.ForeignKeyField(
        "models.Leaderboard", related_name="seasons", on_delete=fields.RESTRICT
    )
    board_id: int
    season = fields.CharField(max_length=32)
    ends_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "leaderboard_season"
        unique_together = (("board_id", "season"),)


class LeaderboardResult(Model):
    """The final standings of a closed season, as they were at closing (opted-out customers left out)."""

    id = fields.BigIntField(primary_key=True)
    board: fields.ForeignKeyRelation[Leaderboard] = fields.ForeignKeyField(
        "models.Leaderboard", related_name="results", on_delete=fields.RESTRICT
    )
    board_id: int
    season = fields.CharField(max_length=32)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="leaderboard_results", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    rank = fields.IntField()
    position = fields.IntField()
    score = fields.BigIntField()

    class Meta:
        table = "leaderboard_result"
        unique_together = (("board_id", "season", "customer_id"),)


class LeaderboardOptOut(Model):
    """A customer who asked not to appear on any board."""

    id = fields.BigIntField(primary_key=True)
    customer: fields.OneToOneRelation[Customer] = fields.OneToOneField(
        "models.Customer", related_name="leaderboard_opt_out", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "leaderboard_opt_out"
