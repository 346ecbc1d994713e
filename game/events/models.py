from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from game.customers.models import Customer


class Event(Model):
    """Something that happened to a customer, recorded once per (source, idempotency_key)."""

    id = fields.BigIntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="events", on_delete=fields.RESTRICT
    )
    customer_id: UUID
    type = fields.CharField(max_length=64)
    source = fields.CharField(max_length=120)
    idempotency_key = fields.CharField(max_length=200)
    payload: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    # A replay with the same key but another payload is a client bug, answered with CONFLICT.
    payload_hash = fields.CharField(max_length=64)
    occurred_at = fields.DatetimeField()
    recorded_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True, db_index=True)
    # The rules generation the engine evaluated it with (game/rules/generation.py): a backfill counts the
    # events evaluated before its challenge went live, exactly. Null for events processed before it existed.
    rules_generation = fields.BigIntField(null=True)

    class Meta:
        table = "event"
        unique_together = (("source", "idempotency_key"),)
        # A customer's events in time (history.py: refunds replay them); every event in time (a challenge's
        # backfill walks them in (occurred_at, id) order, a season's truth reads a window of them).
        indexes = (("customer_id", "occurred_at"), ("occurred_at", "id"))


class EventWithdrawal(Model):
    """An event that no longer counts at all (a cancelled redemption, a referral clawed back), and the event
    that withdrew it.

    The engine processes the withdrawing event as it processes a refund (game/events/processing.py): every
    rule replays the customer's history without the withdrawn event and takes back what no longer holds; and
    a withdrawn event evaluated only afterwards counts nothing. A purchase keeps its own, partial, measure of
    what is left of it (purchase.refunded_cents). Append-only, like events: a withdrawal is never undone.
    """

    id = fields.BigIntField(primary_key=True)
    event_id = fields.BigIntField(unique=True)
    by_event_id = fields.BigIntField(unique=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "event_withdrawal"
