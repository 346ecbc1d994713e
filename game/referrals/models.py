"""The referral tree and its qualifications.

The tree is stored as an adjacency list (`referrer_id` on each member) and read with recursive CTEs, on
PostgreSQL and SQLite alike (game/referrals/repository.py): a chain is at most a few levels deep, an index on
`referrer_id` makes each step one index probe, and nothing has to be rewritten when a subtree gets a referrer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer


class MemberStatus(StrEnum):
    PENDING = "pending"  # referred, no qualifying purchase yet (or its qualification was clawed back)
    QUALIFIED = "qualified"  # rewards paid
    HELD = "held"  # rewards on hold for a marketer's review
    REJECTED = "rejected"  # a marketer refused the rewards: final


class QualificationStatus(StrEnum):
    PAID = "paid"
    HELD = "held"
    APPROVED = "approved"  # held, then paid
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # paid, then its purchase was refunded: rewards reversed
    VOIDED = "voided"  # held, then its purchase was refunded before review


class ReferralMember(Model):
    """A customer's place in the tree: their code and, once set, who referred them (set once)."""

    # A surrogate key: tortoise's autodetector sees a one-to-one primary key as changed on every run.
    id = fields.BigIntField(primary_key=True)
    customer: fields.OneToOneRelation[Customer] = fields.OneToOneField(
        "models.Customer", related_name="referral_member", on_delete=fields.CASCADE
    )
    customer_id: UUID
    code = fields.CharField(max_length=16, unique=True)
    referrer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="referees", null=True, on_delete=fields.SET_NULL
    )
    referrer_id: UUID | None
    referred_at = fields.DatetimeField(null=True)
    device_id = fields.CharField(max_length=128, null=True)
    status = fields.CharEnumField(MemberStatus, max_length=16, default=MemberStatus.PENDING)
    # The purchase event whose qualification stands (paid, held or rejected); None while pending.
    qualifying_event_id = fields.BigIntField(null=True)

    class Meta:
        table = "referral_member"
        indexes = (("referrer_id", "referred_at"),)


class ReferralSetting(Model):
    """The programme's referral rules: one row (`id` 1), none until a marketer configures them."""

    id = fields.IntField(primary_key=True)
    min_purchase_cents = fields.BigIntField()
    referee_points = fields.BigIntField()
    levels: fields.Field[list[dict[str, Any]]] = fields.JSONField()  # [{"level": 1, "points": 100}, ...]
    apply_within_days = fields.IntField()
    monthly_cap_per_referrer = fields.IntField(null=True)
    velocity_limit = fields.IntField(null=True)
    active = fields.BooleanField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "referral_setting"


class ReferralQualification(Model):
    """One qualifying purchase of a referee and the rewards it pays (or holds): the referee's and each "
    "level's."""

    id = fields.BigIntField(primary_key=True)
    referee: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="referral_qualifications", on_delete=fields.CASCADE
    )
    referee_id: UUID
    # The direct referrer, whose monthly cap and velocity this counts against.
    referrer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="referral_qualifications_as_referrer", on_delete=fields.CASCADE
    )
    referrer_id: UUID
    event_id = fields.BigIntField()  # the qualifying purchase
    # [{"customer_id": "...", "level": 0 (the referee) | 1.., "points": n}]
    rewards: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    # Why it is held: [{"rule": "SAME_DEVICE", "detail": "..."}]; empty when paid at once.
    signals: fields.Field[list[dict[str, Any]]] = fields.JSONField()
    status = fields.CharEnumField(QualificationStatus, max_length=16)
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    decision_note = fields.CharField(max_length=500, null=True)

    class Meta:
        table = "referral_qualification"
        unique_together = (("referee_id", "event_id"),)
        indexes = (("referrer_id", "status", "created_at"), ("status", "id"))


class ReferralFingerprint(Model):
    """A payment fingerprint a till sent with a customer's purchase, to spot one card behind two accounts."""

    id = fields.BigIntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="payment_fingerprints", on_delete=fields.CASCADE
    )
    customer_id: UUID
    fingerprint = fields.CharField(max_length=128)

    class Meta:
        table = "referral_fingerprint"
        unique_together = (("customer_id", "fingerprint"),)
        indexes = (("fingerprint",),)
