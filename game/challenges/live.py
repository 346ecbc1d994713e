"""Live challenge progress (see game/live.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from uuid import UUID

from redis.asyncio import Redis

from game.live import Update, listen


@dataclass(frozen=True, slots=True)
class Moved:
    """A progress that an event moved, for the live `challengeProgress` update."""

    challenge_id: int
    period: str
    values: list[int]
    targets: list[int]
    completed: bool
    title: dict[str, str]  # by language, for the app to show it without another request


def _channel(customer_id: UUID) -> str:
    return f"tessera:challenges:{customer_id}"


def progress_update(customer_id: UUID, moved: Moved) -> Update:
    return Update(_channel(customer_id), asdict(moved))


async def progress_updates(redis: Redis, customer_id: UUID) -> AsyncIterator[Moved]:
    async for data in listen(redis, _channel(customer_id)):
        yield Moved(**data)
