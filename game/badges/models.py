from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer
    from game.events.models import Event


class BadgeStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Badge(Model):
    """A badge with one or more levels, earned by a rule over events or granted by challenges."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    name: fields.Field[dict[str, str]] = fields.JSONField()
    description: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    icon = fields.CharField(max_length=200, default="")
    status = fields.CharEnumField(BadgeStatus, max_length=16, default=BadgeStatus.DRAFT)
    # None: only challenges grant it, and its levels count the grants.
    rule: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    # [{"name": {...}, "target": 3, "reward_points": 0, "icon": ""}, ...], targets ascending.
    levels: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    audience_tags: fields.Field[list[str]] = fields.JSONField(default=list)
    published_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "badge"


class BadgeProgress(Model):
    """A customer's way towards a badge's next level, one row per badge and customer for good."""

    id = fields.BigIntField(primary_key=True)
    badge: fields.ForeignKeyRelation[Badge] = fields.ForeignKeyField(
        "models.Badge", related_name="progress", on_delete=fields.RESTRICT
    )
    badge_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="badge_progress", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    # The rule's step states; empty for badges that challenges grant.
    steps: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    grants = fields.IntField(default=0)
    level = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "badge_progress"
        unique_together = (("badge_id", "customer_id"),)
        indexes = (("customer_id",),)  # the customer's badges screen


class BadgeAward(Model):
    """A level earned once: the unique key makes a replayed or concurrent grant a no-op."""

    id = fields.BigIntField(primary_key=True)
    badge: fields.ForeignKeyRelation[Badge] = fields.ForeignKeyField(
        "models.Badge", related_name="awards", on_delete=fields.RESTRICT
    )
    badge_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="badge_awards", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    level = fields.IntField()
    event: fields.ForeignKeyNullableRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="badge_awards", null=True, on_delete=fields.RESTRICT
    )
    event_id: int | None
    earned_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "badge_award"
        unique_together = (("badge_id", "customer_id", "level"),)
        indexes = (("customer_id",),)  # the customer's badges screen
