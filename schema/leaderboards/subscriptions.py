from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry

from game.leaderboards.live import top_changes
from schema.context import Info
from schema.leaderboards.types import LeaderboardEntry, entries
from schema.permissions import IsCustomer


@strawberry.type
class LeaderboardSubscriptions:
    @strawberry.subscription(
        description="The top 10 of a board's live season: once on subscribing, then whenever it moves, at "
        "most one message per second (changes in between arrive together in the next one).",
        permission_classes=[IsCustomer],
    )
    async def leaderboard_changed(
        self, info: Info, key: Annotated[str, strawberry.argument(description="The board's key.")]
    ) -> AsyncGenerator[list[LeaderboardEntry], None]:
        settings = info.context.settings
        tz = ZoneInfo(settings.programme_timezone)
        me = info.context.viewer.customer_id
        async for top in top_changes(info.context.arq, key, tz, me, settings.leaderboard_throttle_s):
            yield entries(top)
