from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry

from game.access.viewer import Role
from game.leaderboards import service
from schema.context import Info
from schema.leaderboards.types import (
    Leaderboard,
    LeaderboardEntry,
    LeaderboardPage,
    decode_cursor,
    entries,
    entry,
)
from schema.permissions import IsCustomer, IsSignedIn

KEY = strawberry.argument(description="The board's key; NOT_FOUND if there is none.")


def _tz(info: Info) -> ZoneInfo:
    return ZoneInfo(info.context.settings.programme_timezone)


@strawberry.type
class LeaderboardQueries:
    @strawberry.field(
        description="The live boards (not archived, not ended), oldest first (customer or marketer).",
        permission_classes=[IsSignedIn],
    )
    async def leaderboards(self, info: Info) -> list[Leaderboard]:
        tz = _tz(info)
        return [Leaderboard.from_model(b, tz) for b in await service.live_boards(datetime.now(UTC))]

    @strawberry.field(
        description="A page of a board, best first (customer or marketer): the live season unless `season` "
        "names a closed one. Customers see the board without those who opted out; marketers see everyone. "
        "SERVICE_UNAVAILABLE when the board store (Redis) cannot be reached.",
        permission_classes=[IsSignedIn],
    )
    async def leaderboard(
        self,
        info: Info,
        key: Annotated[str, KEY],
        season: Annotated[
            str | None, strawberry.argument(description="A closed season's name; the live season if absent.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="Page size, 0-100.")] = 10,
        after: Annotated[
            str | None, strawberry.argument(description="The endCursor of the previous page.")
        ] = None,
    ) -> LeaderboardPage:
        offset = decode_cursor(after)
        viewer = info.context.viewer
        if viewer.role is Role.MARKETER:
            listing = await service.marketer_listing(key, season, offset, first, _tz(info))
        else:
            listing = await service.listing(
                info.context.arq, key, season, offset, first, _tz(info), viewer.customer_id
            )
        return LeaderboardPage.from_listing(listing)

    @strawberry.field(
        description="The signed-in customer and up to `radius` entries either side, on the live season; "
        "empty when they are not ranked (no score yet, or opted out).",
        permission_classes=[IsCustomer],
    )
    async def around_me(
        self,
        info: Info,
        key: Annotated[str, KEY],
        radius: Annotated[int, strawberry.argument(description="Entries either side, 0-25.")] = 2,
    ) -> list[LeaderboardEntry]:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        around = await service.around_me(info.context.arq, key, customer_id, radius, _tz(info))
        return entries(around)

    @strawberry.field(
        description="The signed-in customer's entry on the live season; null when they are not ranked.",
        permission_classes=[IsCustomer],
    )
    async def my_rank(self, info: Info, key: Annotated[str, KEY]) -> LeaderboardEntry | None:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        mine = await service.my_rank(info.context.arq, key, customer_id, _tz(info))
        return None if mine is None else entry(mine)

    @strawberry.field(
        description="The final standings of a closed season, best first (customer or marketer); NOT_FOUND "
        "when that season has not closed.",
        permission_classes=[IsSignedIn],
    )
    async def season_results(
        self,
        info: Info,
        key: Annotated[str, KEY],
        season: Annotated[str, strawberry.argument(description="The season, e.g. '2026-W47'.")],
    ) -> list[LeaderboardEntry]:
        results = await service.season_results(key, season, info.context.viewer.customer_id)
        return entries(results)
