from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry

from game.badges.models import BadgeStatus as Status
from game.badges.service import customer_badges, get_badge, list_badges
from game.challenges.periods import local_day
from schema.badges.types import BadgeDefinition, BadgeStatus, CustomerBadgeType
from schema.context import Info
from schema.ids import badge_id
from schema.permissions import IsCustomer, IsMarketer


@strawberry.type
class BadgeQueries:
    @strawberry.field(
        description="The signed-in customer's badges: those held (any level) and the live ones still locked.",
        permission_classes=[IsCustomer],
    )
    async def badges(self, info: Info) -> list[CustomerBadgeType]:
        customer = await info.context.signed_in_customer()
        today = local_day(datetime.now(UTC), ZoneInfo(info.context.settings.programme_timezone))
        views = await customer_badges(customer.id, customer.tags, today)
        return [CustomerBadgeType.from_view(v, customer.locale) for v in views]

    @strawberry.field(
        description="Every badge, optionally of one status, oldest first (marketer).",
        permission_classes=[IsMarketer],
    )
    async def badge_definitions(
        self,
        status: Annotated[
            BadgeStatus | None, strawberry.argument(description="Only those of this status; all if absent.")
        ] = None,
    ) -> list[BadgeDefinition]:
        return [
            BadgeDefinition.from_model(b) for b in await list_badges(Status[status.name] if status else None)
        ]

    @strawberry.field(description="One badge (marketer).", permission_classes=[IsMarketer])
    async def badge_definition(
        self,
        id: Annotated[strawberry.ID, strawberry.argument(description="The badge's id; NOT_FOUND if none.")],
    ) -> BadgeDefinition:
        return BadgeDefinition.from_model(await get_badge(badge_id(id)))
