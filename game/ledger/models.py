from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class EntryKind(StrEnum):
    EARN = "earn"
    REFUND = "refund"
    BONUS = "bonus"
    ADJUSTMENT = "adjustment"
    REDEMPTION = "redemption"


class LedgerEntry(Model):
    """Append-only: rows are inserted, never updated or deleted."""

    id = fields.BigIntField(primary_key=True)
    customer = fields.ForeignKeyField("models.Customer", related_name="ledger", on_delete=fields.RESTRICT)
    delta = fields.BigIntField()
    balance_after = fields.BigIntField()
    kind = fields.CharEnumField(EntryKind, max_length=16)
    reason = fields.CharField(max_length=200)
    event = fields.ForeignKeyField("models.Event", related_name="entries", null=True, on_delete=fields.RESTRICT)
    # What makes an award happen at most once, whoever asks and however often.
    award_key = fields.CharField(max_length=200, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_entry"
        indexes = (("customer_id", "id"),)


class Balance(Model):
    """A cache of sum(ledger_entry.delta), written in the same transaction as each entry."""

    customer = fields.OneToOneField(
        "models.Customer", related_name="balance", primary_key=True, on_delete=fields.RESTRICT
    )
    points = fields.BigIntField(default=0)

    class Meta:
        table = "balance"
