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
    reason: Reason  # the first entry's
    # Every entry of the commit, in order: (reason, points). One entry when empty.
    parts: tuple[tuple[Reason, int], ...] = ()


_PREFIX = "tessera:points:"


def _channel(customer_id: UUID) -> str:
    return f"{_PREFIX}{customer_id}"


def points_update(customer_id: UUID, change: PointsChange) -> Update:
    parts = change.parts or ((change.reason, change.delta),)
    message = {"balance": change.balance, "delta": change.delta, "reason": change.reason.value}
    return Update(_channel(customer_id), message | {"parts": [[r.value, d] for r, d in parts]})


def one_per_customer(updates: list[Update]) -> list[Update]:
    """A commit's balance updates merged into one per customer, where the first stood: the final balance,
    the total, and each entry as a part. An app shows one change, never an in-between balance."""
    merged: dict[str, Update] = {}
    result: list[Update] = []
    for update in updates:
        if not update.channel.startswith(_PREFIX):
            result.append(update)
            continue
        first = merged.get(update.channel)
        if first is None:  # a copy: the caller's updates stay as they were
            first = merged[update.channel] = Update(update.channel, dict(update.message))
            first.message["parts"] = list(update.message["parts"])
            result.append(first)
            continue
        first.message["balance"] = update.message["balance"]
        first.message["delta"] += update.message["delta"]
        first.message["parts"] += update.message["parts"]
    return result


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
        parts = tuple((Reason(r), int(d)) for r, d in data.get("parts", []))
        yield PointsChange(int(data["balance"]), int(data["delta"]), Reason(data["reason"]), parts)
