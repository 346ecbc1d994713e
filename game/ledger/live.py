"""Live balance updates (see game/live.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from redis.asyncio import Redis

from game.awards.keys import Reason
from game.awards.service import Granted
from game.live import Update, listen, publish_all


@dataclass(frozen=True, slots=True)
class PointsChange:
    balance: int
    delta: int
    reason: Reason


def _channel(customer_id: UUID) -> str:
    return f"tessera:points:{customer_id}"


def points_update(customer_id: UUID, change: PointsChange) -> Update:
    return Update(
        _channel(customer_id),
        {"balance": change.balance, "delta": change.delta, "reason": change.reason.value},
    )


def granted_updates(customer_id: UUID, granted: list[Granted]) -> list[Update]:
    """One balance update per ledger entry posted, in the order they were posted."""
    return [
        points_update(customer_id, PointsChange(g.balance, g.points, g.reason))
        for g in granted
        if g.balance is not None
    ]


async def publish_points_change(redis: Redis, customer_id: UUID, change: PointsChange) -> None:
    await publish_all(redis, [points_update(customer_id, change)])


async def points_changes(redis: Redis, customer_id: UUID) -> AsyncIterator[PointsChange]:
    async for data in listen(redis, _channel(customer_id)):
        yield PointsChange(
            balance=int(data["balance"]), delta=int(data["delta"]), reason=Reason(data["reason"])
        )
