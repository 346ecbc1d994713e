"""Recording events exactly once per (source, idempotency key), and customer-side tracking."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from arq.connections import ArqRedis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from game.errors import DomainError, ErrorCode, bad_input
from game.events.errors import EventReason
from game.events.models import Event
from game.events.queue import enqueue_processing
from game.limits import Limit, hit
from game.sql import insert

T = TypeVar("T")

MAX_KEY_LENGTH = 200
MAX_ATTRIBUTES_BYTES = 4096
# Tills' clocks drift; anything further ahead than this is a bad date, not drift.
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_EVENT_AGE = timedelta(days=365)
_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Event types only the platform records; a customer cannot claim a purchase through trackEvent.
RESERVED_TYPES = frozenset(
    {
        "purchase",
        "refund",
        "eco_action",
        "referral_qualified",
        "referral_withdrawn",
        "redemption",
        "redemption_cancelled",
    }
)


@dataclass(frozen=True, slots=True)
class NewEvent:
    customer_id: UUID
    type: str
    source: str
    idempotency_key: str
    payload: dict[str, Any]
    occurred_at: datetime


# One encoder: json.dumps builds a new one for every call that passes an option.
_canonical = json.JSONEncoder(sort_keys=True, default=str).encode


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def validate_key(key: str, field: str = "idempotencyKey", max_length: int = MAX_KEY_LENGTH) -> str:
    if not 1 <= len(key) <= max_length or not key.isprintable():
        raise bad_input(f"{field} must be 1 to {max_length} printable characters", field)
    return key


def validate_occurred_at(occurred_at: datetime | None, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    if occurred_at is None:
        return now
    if occurred_at.tzinfo is None:
        raise bad_input("occurredAt must carry a UTC offset, e.g. 2026-11-23T10:00:00Z", "occurredAt")
    occurred_at = occurred_at.astimezone(UTC)
    if occurred_at > now + MAX_CLOCK_SKEW:
        raise bad_input("occurredAt is in the future", "occurredAt")
    if occurred_at < now - MAX_EVENT_AGE:
        raise bad_input("occurredAt is more than a year ago", "occurredAt")
    return occurred_at


async def record_once(
    new: NewEvent,
    apply: Callable[[BaseDBAsyncClient, int], Awaitable[T]],
    replay: Callable[[Event], Awaitable[T]],
) -> tuple[int, T, bool]:
    """Inserts the event and applies its effects in one transaction, or, when the key was seen before,
    returns what the first request produced. Returns (event id, result, duplicate).

    The unique (source, idempotency_key) index decides between concurrent copies: the database makes the
    late ones wait for the first to commit, then refuses them, and they read the first one's result.
    """
    digest = payload_hash(new.payload)
    try:
        async with in_transaction() as conn:
            event_id = await insert(
                conn,
                "event",
                {
                    "customer_id": new.customer_id,
                    "type": new.type,
                    "source": new.source,
                    "idempotency_key": new.idempotency_key,
                    "payload": new.payload,
                    "payload_hash": digest,
                    "occurred_at": new.occurred_at,
                    "recorded_at": datetime.now(UTC),
                },
            )
            result = await apply(conn, event_id)
        return event_id, result, False
    except IntegrityError:
        existing = await Event.get_or_none(source=new.source, idempotency_key=new.idempotency_key)
        if existing is None:
            raise
    if existing.payload_hash != digest or existing.customer_id != new.customer_id:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"{new.idempotency_key!r} was already used for a different request",
            field="idempotencyKey",
            reason=EventReason.IDEMPOTENCY_KEY_REUSED,
        )
    return existing.id, await replay(existing), True


async def _no_replay(_event: Event) -> None:
    return None


async def track_event(
    arq: ArqRedis,
    *,
    customer_id: UUID,
    type: str,
    idempotency_key: str,
    attributes: Any,
    limit: int,
    window_s: int,
) -> tuple[int, bool]:
    """An app-side event (share, review, check-in); the gamification engine decides what it is worth."""
    if not _TYPE.match(type) or type in RESERVED_TYPES:
        raise bad_input("type must be a lowercase identifier (a-z, 0-9, _) and not a reserved type", "type")
    validate_key(idempotency_key)
    attributes = {} if attributes is None else attributes
    if not isinstance(attributes, dict):
        raise bad_input("attributes must be a JSON object", "attributes")
    if len(json.dumps(attributes)) > MAX_ATTRIBUTES_BYTES:
        raise bad_input(f"attributes must be at most {MAX_ATTRIBUTES_BYTES} bytes of JSON", "attributes")
    new = NewEvent(
        customer_id=customer_id,
        type=type,
        source=f"customer:{customer_id}",
        idempotency_key=idempotency_key,
        payload={"attributes": attributes},
        occurred_at=datetime.now(UTC),
    )

    async def apply(_conn: BaseDBAsyncClient, _event_id: int) -> None:
        # Only new events count against the limit: a replay of an accepted event must still answer. One
        # limit across every type: self-declared events are capped whatever they are called.
        await hit(
            arq, f"track:{customer_id}", Limit(limit, window_s), "tracked events", EventReason.TOO_MANY_EVENTS
        )

    event_id, _, duplicate = await record_once(new, apply, _no_replay)
    await enqueue_processing(arq, event_id)
    return event_id, duplicate


async def record_withdrawal(conn: BaseDBAsyncClient, withdrawn_event_id: int, by: NewEvent) -> int:
    """Records, in the caller's transaction, the event `by` and its withdrawal of `withdrawn_event_id`
    (game/events/models.py EventWithdrawal): the engine processes `by` like a refund of the whole event.
    Returns its id, to process after commit. `by`'s source must be one no customer records under."""
    now = datetime.now(UTC)
    event_id = await insert(
        conn,
        "event",
        {
            "customer_id": by.customer_id,
            "type": by.type,
            "source": by.source,
            "idempotency_key": by.idempotency_key,
            "payload": by.payload,
            "payload_hash": payload_hash(by.payload),
            "occurred_at": by.occurred_at,
            "recorded_at": now,
        },
    )
    await insert(
        conn, "event_withdrawal", {"event_id": withdrawn_event_id, "by_event_id": event_id, "created_at": now}
    )
    return event_id
