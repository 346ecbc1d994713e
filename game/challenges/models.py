from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.badges.models import Badge
    from game.customers.models import Customer


class ChallengeStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Recurrence(StrEnum):
    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Challenge(Model):
    id = fields.IntField(primary_key=True)
    # {"fr": "...", "en": "..."}: the app picks the customer's locale.
    title: fields.Field[dict[str, str]] = fields.JSONField()
    description: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    icon = fields.CharField(max_length=200, default="")
    status = fields.CharEnumField(ChallengeStatus, max_length=16, default=ChallengeStatus.DRAFT)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField(null=True)
    recurrence = fields.CharEnumField(Recurrence, max_length=16, default=Recurrence.NONE)
    rule: fields.Field[dict[str, Any]] = fields.JSONField()
    reward_points = fields.IntField(default=0)
    # A badge granted on each completion: one more towards its levels.
    reward_badge: fields.ForeignKeyNullableRelation[Badge] = fields.ForeignKeyField(
        "models.Badge", related_name="granted_by", null=True, on_delete=fields.RESTRICT
    )
    reward_badge_id: int | None
    # Who may take part: empty for everyone, else customers with at least one of these tags.
    audience_tags: fields.Field[list[str]] = fields.JSONField(default=list)
    max_completions_per_period = fields.IntField(default=1)
    # Optional programme-wide budgets; the counters move under a row lock with each completion.
    budget_completions = fields.IntField(null=True)
    budget_points = fields.BigIntField(null=True)
    completions_count = fields.IntField(default=0)
    points_awarded = fields.BigIntField(default=0)
    # Count the window's events recorded before publication; done once, by a worker job.
    backfill = fields.BooleanField(default=False, db_default=False)
    published_at = fields.DatetimeField(null=True)
    # The rules generation its first publication made: events evaluated with an earlier one did not see it.
    published_generation = fields.BigIntField(null=True)
    backfilled_at = fields.DatetimeField(null=True)
    # Where the backfill has got to, in (occurred_at, id) order: it commits a batch of events at a time.
    backfill_at = fields.DatetimeField(null=True)
    backfill_event_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "challenge"


class ChallengeProgress(Model):
    """A customer's progress on a challenge in one period ("once", "2026-11-23", "2026-W48", "2026-11")."""

    id = fields.BigIntField(primary_key=True)
    challenge: fields.ForeignKeyRelation[Challenge] = fields.ForeignKeyField(
        "models.Challenge", related_name="progress", on_delete=fields.RESTRICT
    )
    challenge_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="challenge_progress", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    period = fields.CharField(max_length=16)
    steps: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    completions = fields.IntField(default=0)
    # Set when the customer may not complete it again in this period.
    completed_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "challenge_progress"
        unique_together = (("challenge_id", "customer_id", "period"),)
        indexes = (("customer_id", "challenge_id"),)  # the customer's challenges, live or completed
