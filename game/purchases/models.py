from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer
    from game.events.models import Event


class Purchase(Model):
    id = fields.BigIntField(primary_key=True)
    event: fields.OneToOneRelation[Event] = fields.OneToOneField(
        "models.Event", related_name="purchase", on_delete=fields.RESTRICT
    )
    event_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="purchases", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    source = fields.CharField(max_length=120)
    order_id = fields.CharField(max_length=120)
    amount_cents = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    points_awarded = fields.BigIntField()
    # Running totals, updated under a row lock with each refund, so refunds can never exceed the purchase.
    refunded_cents = fields.BigIntField(default=0)
    points_reversed = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "purchase"
        unique_together = (("source", "order_id"),)
