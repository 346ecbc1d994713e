from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer


class NotificationKind(StrEnum):
    CHALLENGE_COMPLETED = "challenge_completed"
    BADGE_EARNED = "badge_earned"
    STREAK_MILESTONE = "streak_milestone"
    REWARD_WITHDRAWN = "reward_withdrawn"
    POINTS_EXPIRING = "points_expiring"


class Notification(Model):
    """An outbox row, written in the transaction that earned the reward: committed means it will be sent.

    `key` is the award key, so one award never notifies twice, and the delivery job sets `sent_at`.
    """

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=200, unique=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="notifications", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    kind = fields.CharEnumField(NotificationKind, max_length=32)
    # What the message says, in data: {"title": {"fr": ..., "en": ...}, "points": 50, ...}.
    payload: fields.Field[dict[str, Any]] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "notification"
