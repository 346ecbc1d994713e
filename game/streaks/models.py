from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer


class StreakPeriod(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class StreakSetting(Model):
    """The programme's streak as marketers configure it: one row (`id` 1), none until they do."""

    # Always written as id 1 (the autodetector does not keep `generated=False`: it would see a change).
    id = fields.IntField(primary_key=True)
    period = fields.CharEnumField(StreakPeriod, max_length=16)
    activity_types: fields.Field[list[str]] = fields.JSONField()
    freeze_days = fields.IntField()
    # [{"length": 3, "reward_points": 20}, ...], lengths ascending.
    milestones: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    active = fields.BooleanField()
    # Only verified activity (recorded by a till, a partner or the platform) moves runs.
    verified_only = fields.BooleanField(default=False, db_default=False)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "streak_setting"


class StreakState(Model):
    """One customer's streak, moved by one event at a time: the read side decides whether it is still alive.

    Dates are days of the programme's timezone, and a weekly streak's run starts on a Monday.
    """

    # No semicolon in this docstring: it becomes a table comment, and SQLite migrations split on them.

    # A surrogate key: tortoise's autodetector sees a one-to-one primary key as changed on every run.
    id = fields.BigIntField(primary_key=True)
    customer: fields.OneToOneRelation[Customer] = fields.OneToOneField(
        "models.Customer", related_name="streak", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    # The period the state was counted in: when marketers change it, the next activity starts afresh.
    period = fields.CharEnumField(StreakPeriod, max_length=16)
    length = fields.IntField(default=0)
    best = fields.IntField(default=0)
    run_start = fields.DateField(null=True)
    last_active_on = fields.DateField(null=True)
    freezes_used = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "streak_state"
