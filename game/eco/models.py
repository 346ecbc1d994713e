from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer
    from game.events.models import Event


class EcoActionType(Model):
    """An eco-responsible action the programme rewards, and what one unit of it saves (marketer-editable)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    label: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    co2e_grams_per_unit = fields.IntField()
    points_per_unit = fields.IntField(default=0)
    # Customers' own declarations are unverified: at most this many units per local day and type.
    declared_daily_cap = fields.IntField(default=1)
    active = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "eco_action_type"


class EcoContribution(Model):
    """One recorded eco action: the rows eco impact is summed from."""

    id = fields.BigIntField(primary_key=True)
    event: fields.OneToOneRelation[Event] = fields.OneToOneField(
        "models.Event", related_name="eco_contribution", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="eco_contributions", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    action = fields.CharField(max_length=64)
    quantity = fields.IntField()
    co2e_grams = fields.BigIntField()
    verified = fields.BooleanField()
    local_day = fields.CharField(max_length=10)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "eco_contribution"
        indexes = (("customer_id", "action", "local_day"),)
