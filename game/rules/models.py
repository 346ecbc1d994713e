from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class RulesGeneration(Model):
    """How many times the live definitions changed: one row (`id` 1), none until the first change.

    See game/rules/generation.py for who bumps it and who reads it.
    """

    # Always written as id 1 (the autodetector does not keep `generated=False`: it would see a change).
    id = fields.IntField(primary_key=True)
    generation = fields.BigIntField()
    changed_at = fields.DatetimeField()

    class Meta:
        table = "rules_generation"
