from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from game.badges.live import earned_updates
from game.customers.service import customer_locale
from game.validation import in_text
from schema.context import Info
from schema.permissions import IsCustomer


@strawberry.type(description="A badge level the signed-in customer just earned.")
class BadgeEarned:
    badge_id: strawberry.ID = strawberry.field(description="The badge's id.")
    level: int = strawberry.field(description="1 for the badge's first level.")
    points: int = strawberry.field(description="The level's reward, 0 if none.")
    badge_name: str = strawberry.field(description="The badge's name, in the customer's language.")
    level_name: str = strawberry.field(
        description="The level's name (bronze, silver...), in the customer's language."
    )
    icon: str = strawberry.field(
        description="The level's icon, else the badge's (a URL or an emoji; may be empty)."
    )


@strawberry.type
class BadgeSubscriptions:
    @strawberry.subscription(
        description="The signed-in customer's new badge levels, as the worker awards them.",
        permission_classes=[IsCustomer],
    )
    async def badge_earned(self, info: Info) -> AsyncGenerator[BadgeEarned, None]:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        locale = await customer_locale(customer_id)
        async for earned in earned_updates(info.context.arq, customer_id):
            yield BadgeEarned(
                badge_id=strawberry.ID(str(earned.badge_id)),
                level=earned.level,
                points=earned.points,
                badge_name=in_text(earned.badge_name, locale),
                level_name=in_text(earned.level_name, locale),
                icon=earned.icon,
            )
