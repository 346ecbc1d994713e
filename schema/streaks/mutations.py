from __future__ import annotations

from typing import Annotated

import strawberry

from game.streaks.service import configure_streak
from schema.context import Info
from schema.permissions import IsMarketer
from schema.streaks.types import StreakSettings, StreakSettingsInput


@strawberry.type
class StreakMutations:
    @strawberry.mutation(
        description="Create or replace the programme's streak (marketer). Customers' runs carry on, unless "
        "the period changes: then every customer starts afresh.",
        permission_classes=[IsMarketer],
    )
    async def configure_streak(
        self,
        info: Info,
        input: Annotated[StreakSettingsInput, strawberry.argument(description="The streak's settings.")],
    ) -> StreakSettings:
        return StreakSettings.from_config(await configure_streak(input.to_config()))
