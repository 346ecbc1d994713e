from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry

from game.leaderboards import service
from schema.context import Info
from schema.leaderboards.types import Leaderboard, LeaderboardInput
from schema.permissions import IsCustomer, IsMarketer


@strawberry.type
class LeaderboardMutations:
    @strawberry.mutation(
        description="Create a leaderboard (marketer). It counts events from startsAt on; CONFLICT when the "
        "key is taken.",
        permission_classes=[IsMarketer],
    )
    async def create_leaderboard(
        self, info: Info, input: Annotated[LeaderboardInput, strawberry.argument(description="The board.")]
    ) -> Leaderboard:
        board = await service.create_board(input.to_new())
        return Leaderboard.from_model(board, ZoneInfo(info.context.settings.programme_timezone))

    @strawberry.mutation(
        description="Archive a leaderboard (marketer): it leaves the live boards and stops moving. "
        "Idempotent.",
        permission_classes=[IsMarketer],
    )
    async def archive_leaderboard(
        self, info: Info, key: Annotated[str, strawberry.argument(description="The board's key.")]
    ) -> Leaderboard:
        board = await service.archive_board(key)
        return Leaderboard.from_model(board, ZoneInfo(info.context.settings.programme_timezone))

    @strawberry.mutation(
        description="Hide the signed-in customer from every board at once (true), or show them again "
        "(false). Returns the setting.",
        permission_classes=[IsCustomer],
    )
    async def set_leaderboard_opt_out(
        self,
        info: Info,
        opt_out: Annotated[bool, strawberry.argument(description="true: hidden from every board.")],
    ) -> bool:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        tz = ZoneInfo(info.context.settings.programme_timezone)
        return await service.set_opt_out(info.context.arq, customer_id, opt_out, tz)
