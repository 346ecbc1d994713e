from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer
    from game.events.models import Event


class EntryKind(StrEnum):
    EARN = "earn"
    REFUND = "refund"
    BONUS = "bonus"
    ADJUSTMENT = "adjustment"
    REDEMPTION = "redemption"
    # A reward the engine granted, taken back because what earned it no longer holds (a refund).
    CLAWBACK = "clawback"
    # Earned points that reached the end of their life unspent (oldest first).
    EXPIRY = "expiry"


class LedgerEntry(Model):
    """Append-only: rows are inserted, never updated or deleted."""

    id = fields.BigIntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="ledger", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    delta = fields.BigIntField()
    balance_after = fields.BigIntField()
    kind = fields.CharEnumField(EntryKind, max_length=16)
    reason = fields.CharField(max_length=200)
    event: fields.ForeignKeyNullableRelation[Event] = fields.ForeignKeyField(
        "models.Event", related_name="entries", null=True, on_delete=fields.RESTRICT
    )
    event_id: int | None
    # What makes an award happen at most once, whoever asks and however often.
    award_key = fields.CharField(max_length=200, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "ledger_entry"
        # event_id: the leaderboards' reaction sums what an event posted (game/leaderboards/truth.py).
        indexes = (("customer_id", "id"), ("event_id",))


class Balance(Model):
    """A cache of sum(ledger_entry.delta), written in the same transaction as each entry."""

    # A surrogate key: tortoise's autodetector sees a one-to-one primary key as changed on every run.
    id = fields.BigIntField(primary_key=True)
    customer: fields.OneToOneRelation[Customer] = fields.OneToOneField(
        "models.Customer", related_name="balance", on_delete=fields.RESTRICT
    )
    points = fields.BigIntField(default=0)

    class Meta:
        table = "balance"
