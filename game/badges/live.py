"""Live badge levels (see game/live.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from uuid import UUID

from redis.asyncio import Redis

from game.live import Update, listen


@dataclass(frozen=True, slots=True)
class Earned:
    """A badge level a customer just earned."""

    badge_id: int
    level: int
    name: str
    points: int
    balance: int | None
    award_key: str
    # For the app to show it without another request: texts by language, the level's icon (else the badge's).
    badge_name: dict[str, str]
    level_name: dict[str, str]
    icon: str


def channel(customer_id: UUID | str) -> str:
    return f"tessera:badges:{customer_id}"


def earned_update(customer_id: UUID, earned: Earned) -> Update:
    return Update(channel(customer_id), asdict(earned))


async def earned_updates(redis: Redis, customer_id: UUID) -> AsyncIterator[Earned]:
    async for data in listen(redis, channel(customer_id)):
        yield Earned(**data)
