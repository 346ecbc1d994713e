from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from game.awards.keys import Reason

if TYPE_CHECKING:
    from game.customers.models import Customer


class AwardGrant(Model):
    """One reward the engine granted (a challenge completion, a badge level, a streak milestone), so that it
    can be withdrawn when what earned it no longer holds, and earned again afterwards under a fresh key.

    `base_key` names the achievement (game/awards/keys.py); `key` is this grant's award key: the base key the
    first time, `<base>#2` after one withdrawal, and so on. At most one grant per base key is held.
    """

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=200, unique=True)
    base_key = fields.CharField(max_length=200, db_index=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="award_grants", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    reason = fields.CharEnumField(Reason, max_length=16)
    points = fields.BigIntField()
    granted_at = fields.DatetimeField()
    withdrawn_at = fields.DatetimeField(null=True)
    # The event that earned it and the one that took it back: a board counts a completion in the season its
    # event occurred in, and its withdrawal in the refund's (game/leaderboards/truth.py).
    event_id = fields.BigIntField(null=True)
    withdrawn_event_id = fields.BigIntField(null=True)

    class Meta:
        table = "award_grant"
        indexes = (("customer_id", "reason"), ("event_id",), ("withdrawn_event_id",))


class ClawbackSetting(Model):
    """The programme's clawback policy: one row (`id` 1), none until a marketer sets it."""

    id = fields.IntField(primary_key=True)
    # True: a withdrawn reward is taken back whole, even below zero (later earnings pay it back).
    # False: it takes at most what the balance holds, and the ledger says how much that was.
    below_zero = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "clawback_setting"
