"""Notifications: queued with the reward that caused them, delivered by a worker job after commit.

Delivery channels (Web Push) come with the push issue; until then delivery only marks the row sent, so the
outbox, its job and its sweeper are in place and tested.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from arq.connections import ArqRedis
from tortoise.backends.base.client import BaseDBAsyncClient

from game.after_commit import best_effort
from game.notifications.models import Notification, NotificationKind
from game.sql import execute

DELIVER_NOTIFICATION = "deliver_notification"


async def queue_notification(
    conn: BaseDBAsyncClient, customer_id: UUID, key: str, kind: NotificationKind, payload: dict[str, Any]
) -> None:
    """Inside the caller's transaction; a second call with the same key is a no-op."""
    await execute(
        conn,
        "INSERT INTO notification (key, customer_id, kind, payload, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING",
        key,
        customer_id,
        kind.value,
        payload,
        datetime.now(UTC),
    )


async def enqueue_delivery(arq: ArqRedis, keys: list[str]) -> None:
    for key in keys:
        job = arq.enqueue_job(DELIVER_NOTIFICATION, key, _job_id=f"notify:{key}")
        await best_effort(f"enqueueing notification {key}", job)


async def deliver(key: str) -> bool:
    """True when this call sent it; a second run finds it sent and does nothing."""
    return bool(await Notification.filter(key=key, sent_at=None).update(sent_at=datetime.now(UTC)))


async def unsent(older_than: timedelta, limit: int, after: int = 0) -> list[tuple[int, str]]:
    """(id, key) of unsent notifications queued longer ago than `older_than`, in id order from `after` on."""
    cutoff = datetime.now(UTC) - older_than
    rows = Notification.filter(sent_at=None, created_at__lt=cutoff, id__gt=after).order_by("id").limit(limit)
    return list(await rows.values_list("id", "key"))
