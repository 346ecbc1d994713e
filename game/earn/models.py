from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class EarnRule(Model):
    """How purchases in one currency earn points: a base rate, raised or lowered per item category."""

    id = fields.IntField(primary_key=True)
    currency = fields.CharField(max_length=3, unique=True)
    points_per_unit = fields.IntField()
    # category -> percent of the base rate (200 = double points); integers, never floats.
    category_multipliers: fields.Field[dict[str, int]] = fields.JSONField(default=dict)
    # Percent of the base rate added to an eco item's weight (50 = +50%); db_default: rules predate it.
    eco_bonus_pct = fields.IntField(default=0, db_default=0)
    # Days purchase points stay pending (the return window) before they can be spent; 0: at once.
    pending_days = fields.IntField(default=0, db_default=0)
    active = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "earn_rule"
