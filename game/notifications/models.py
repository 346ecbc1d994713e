from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer


class NotificationKind(StrEnum):
    CHALLENGE_COMPLETED = "challenge_completed"
    BADGE_EARNED = "badge_earned"
    STREAK_MILESTONE = "streak_milestone"
    REWARD_WITHDRAWN = "reward_withdrawn"
    POINTS_EXPIRING = "points_expiring"
    TIER_CHANGED = "tier_changed"
    REFERRAL_QUALIFIED = "referral_qualified"
    LEADERBOARD_PRIZE = "leaderboard_prize"
    NEW_CHALLENGE = "new_challenge"
    CAMPAIGN = "campaign"


class PushStatus(StrEnum):
    """What planning decided for the pushes of a notification (the inbox row exists either way)."""

    QUEUED = "queued"  # one push job per device enqueued (possibly deferred past quiet hours)
    INBOX_ONLY = "inbox_only"  # the customer has no device
    SKIPPED = "skipped"  # the customer's preferences turned the category off


class Notification(Model):
    """An inbox row, written in the transaction that earned the reward or by a campaign fan-out: committed
    means the customer sees it and it will be pushed where allowed.

    `key` is the award key (or `campaign:<id>:<customer>`), so one award never notifies twice; planning sets
    `sent_at` with what it decided for the pushes (`push_status`, `push_jobs`).
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
    read_at = fields.DatetimeField(null=True)
    campaign_id = fields.BigIntField(null=True, db_index=True)
    push_status = fields.CharEnumField(PushStatus, max_length=16, null=True)
    # db_default: rows queued before this column arrived need a value.
    push_jobs = fields.IntField(default=0, db_default=SqlDefault("0"))

    class Meta:
        table = "notification"
        indexes = (("customer_id", "read_at"),)


class PushSubscription(Model):
    """One browser or app install of a customer, as its push service gave it (RFC 8030 endpoint, RFC 8291
    keys)."""

    id = fields.BigIntField(primary_key=True)
    # Indexed: planning reads a customer's devices with every notification.
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="push_subscriptions", on_delete=fields.CASCADE, db_index=True
    )
    customer_id: UUID
    endpoint = fields.CharField(max_length=1000, unique=True)
    p256dh = fields.CharField(max_length=200)
    auth = fields.CharField(max_length=100)
    user_agent = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "push_subscription"


class NotificationPreference(Model):
    """The choices of a customer. No row means the defaults: every category but marketing, no quiet hours."""

    id = fields.BigIntField(primary_key=True)
    customer: fields.OneToOneRelation[Customer] = fields.OneToOneField(
        "models.Customer", related_name="notification_preference", on_delete=fields.CASCADE
    )
    customer_id: UUID
    # Categories the customer turned off (marketing is off unless `marketing`).
    opted_out: fields.Field[list[str]] = fields.JSONField(default=list)
    marketing = fields.BooleanField(default=False)
    # Minutes after local midnight, in the customer's timezone; both null: no quiet hours.
    quiet_start_min = fields.IntField(null=True)
    quiet_end_min = fields.IntField(null=True)
    daily_cap = fields.IntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_preference"


class PushOutcome(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"  # 404/410: the subscription was deleted
    RETRY = "retry"  # 429/5xx/network: tried again later
    FAILED = "failed"  # retries exhausted or refused (other 4xx)
    CAPPED = "capped"  # the customer's daily cap was reached


class PushAttempt(Model):
    """Every try of a push job: what the push service answered and what we made of it."""

    id = fields.BigIntField(primary_key=True)
    notification_id = fields.BigIntField(db_index=True)
    # No foreign key: the attempts outlive a subscription deleted on 410.
    subscription_id = fields.BigIntField()
    status = fields.IntField(null=True)  # HTTP status, null on a network error
    outcome = fields.CharEnumField(PushOutcome, max_length=16)
    reason = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "push_attempt"


class PushDelivery(Model):
    """The delivered marker: one row per notification and device, so a replayed job pushes once."""

    id = fields.BigIntField(primary_key=True)
    notification_id = fields.BigIntField()
    subscription_id = fields.BigIntField()
    customer_id = fields.UUIDField(db_index=True)
    delivered_at = fields.DatetimeField()

    class Meta:
        table = "push_delivery"
        unique_together = (("notification_id", "subscription_id"),)


class CampaignStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"


class Campaign(Model):
    """A message of a marketer to an audience, fanned out in batches, the counters moving with each batch."""

    id = fields.BigIntField(primary_key=True)
    title: fields.Field[dict[str, str]] = fields.JSONField()
    body: fields.Field[dict[str, str]] = fields.JSONField()
    link = fields.CharField(max_length=500, null=True)
    audience_tags: fields.Field[list[str]] = fields.JSONField(default=list)  # empty: everyone
    send_at = fields.DatetimeField()
    status = fields.CharEnumField(CampaignStatus, max_length=16)
    # Fan-out cursor: the last customer id handled; batches commit it with their notifications.
    cursor = fields.CharField(max_length=64, default="")
    targeted = fields.IntField(default=0)
    not_opted_in = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    fanned_out_at = fields.DatetimeField(null=True)

    class Meta:
        table = "campaign"
