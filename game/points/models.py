"""Points held back while a purchase can still be returned: a ledger of their own, outside the balance."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

from game.awards.keys import Reason
from game.ledger.models import EntryKind

if TYPE_CHECKING:
    from game.customers.models import Customer


class PendingPoints(Model):
    """A purchase's points, held until `available_at`. Release posts them to the ledger (EARN, under the
    purchase's own award key) minus what refunds cancelled; until then they are not in the balance."""

    id = fields.BigIntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="pending_points", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    award_key = fields.CharField(max_length=200, unique=True)  # the purchase's award key
    # What the released entry will be: a purchase's points (EARN) or its eco bonus (BONUS).
    kind = fields.CharEnumField(EntryKind, max_length=16, default=EntryKind.EARN)
    reason = fields.CharEnumField(Reason, max_length=16, default=Reason.PURCHASE)
    text = fields.CharField(max_length=200)
    event_id = fields.BigIntField(null=True)
    points = fields.BigIntField()
    cancelled = fields.BigIntField(default=0)  # taken back by refunds inside the window
    available_at = fields.DatetimeField()
    released_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "pending_points"
        indexes = (("released_at", "available_at"), ("customer_id", "released_at"))
