from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import strawberry

from game.streaks.service import customer_streak, streak_config
from schema.context import Info
from schema.permissions import IsCustomer, IsMarketer
from schema.streaks.types import Streak, StreakSettings


@strawberry.type
class StreakQueries:
    @strawberry.field(
        description="The signed-in customer's streak; null while the programme has no active streak.",
        permission_classes=[IsCustomer],
    )
    async def streak(self, info: Info) -> Streak | None:
        customer = await info.context.signed_in_customer()
        tz = ZoneInfo(info.context.settings.programme_timezone)
        view = await customer_streak(customer.id, tz, datetime.now(UTC))
        return Streak.from_view(view) if view else None

    @strawberry.field(
        description="The programme's streak settings, null until configured (marketer).",
        permission_classes=[IsMarketer],
    )
    async def streak_settings(self) -> StreakSettings | None:
        config = await streak_config()
        return StreakSettings.from_config(config) if config else None
