"""The rewards catalogue and the redemptions that spend points on it."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer


class RewardKind(StrEnum):
    PRODUCT = "product"
    VOUCHER = "voucher"
    EXPERIENCE = "experience"
    DONATION = "donation"  # issues a receipt, not a coupon
    PARTNER_OFFER = "partner_offer"


class RewardStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    ARCHIVED = "archived"


class Reward(Model):
    """One reward of the catalogue. `redeemed` counts the redemptions not cancelled: the stock left is
    `stock - redeemed`, moved by one conditional UPDATE so the last unit is never sold twice."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(RewardKind, max_length=16)
    status = fields.CharEnumField(RewardStatus, max_length=16, default=RewardStatus.DRAFT)
    # locale -> text; "en" is the fallback.
    name: fields.Field[dict[str, str]] = fields.JSONField()
    description: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    image_url = fields.CharField(max_length=500, null=True)
    cost_points = fields.IntField()
    stock = fields.IntField(null=True)  # null: unlimited
    redeemed = fields.IntField(default=0)
    per_customer_limit = fields.IntField(null=True)  # null: no limit
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    coupon_valid_days = fields.IntField(null=True)  # null: the coupon does not expire
    cancel_window_hours = fields.IntField(default=24)
    audience_tags: fields.Field[list[str]] = fields.JSONField(default=list)  # empty: everyone
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "reward"


class RedemptionStatus(StrEnum):
    ACTIVE = "active"  # points spent, coupon (if any) unused
    CONSUMED = "consumed"  # the coupon was used at a till
    CANCELLED = "cancelled"  # points and stock given back


class Redemption(Model):
    id = fields.BigIntField(primary_key=True)
    reward: fields.ForeignKeyRelation[Reward] = fields.ForeignKeyField(
        "models.Reward", related_name="redemptions", on_delete=fields.RESTRICT
    )
    reward_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="redemptions", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    # The ledger entry's award key (game/awards/keys.py redemption): unique, so a replay pays once.
    award_key = fields.CharField(max_length=200, unique=True)
    points = fields.IntField()
    status = fields.CharEnumField(RedemptionStatus, max_length=16, default=RedemptionStatus.ACTIVE)
    code = fields.CharField(max_length=32, unique=True, null=True)  # coupon; null for a donation
    receipt = fields.CharField(max_length=40, unique=True, null=True)  # donation receipt number
    expires_at = fields.DatetimeField(null=True)
    consumed_at = fields.DatetimeField(null=True)
    consumed_by = fields.CharField(max_length=80, null=True)  # the till's API key source
    consumed_order_id = fields.CharField(max_length=110, null=True)
    cancelled_at = fields.DatetimeField(null=True)
    snapshot: fields.Field[dict[str, Any]] = fields.JSONField(
        default=dict
    )  # reward name and kind as redeemed
    created_at = fields.DatetimeField()

    class Meta:
        table = "redemption"
        indexes = (("customer_id", "id"), ("reward_id", "customer_id"))
