from __future__ import annotations

from typing import Annotated

import strawberry

from game.badges.models import BadgeStatus
from game.badges.service import BadgeInput as Data
from game.badges.service import change_status, create_badge, update_badge
from schema.badges.types import BadgeDefinition, BadgeInput
from schema.context import Info
from schema.ids import badge_id
from schema.permissions import IsMarketer


def _data(input: BadgeInput) -> Data:
    return Data(
        key=input.key,
        name=input.name.to_dict(),
        levels=[level.to_level() for level in input.levels],
        rule=input.rule,
        description=input.description.to_dict() if input.description else None,
        icon=input.icon,
        audience_tags=input.audience_tags,
    )


@strawberry.type
class BadgeMutations:
    @strawberry.mutation(description="Create a draft badge (marketer).", permission_classes=[IsMarketer])
    async def create_badge(
        self, input: Annotated[BadgeInput, strawberry.argument(description="The new badge.")]
    ) -> BadgeDefinition:
        return BadgeDefinition.from_model(await create_badge(_data(input)))

    @strawberry.mutation(
        description="Replace a draft badge (marketer); CONFLICT once it is published.",
        permission_classes=[IsMarketer],
    )
    async def update_badge(
        self,
        id: Annotated[strawberry.ID, strawberry.argument(description="The draft's id; NOT_FOUND if none.")],
        input: Annotated[BadgeInput, strawberry.argument(description="Every field, anew.")],
    ) -> BadgeDefinition:
        return BadgeDefinition.from_model(await update_badge(badge_id(id), _data(input)))

    @strawberry.mutation(
        description="Start awarding a draft badge: DRAFT to ACTIVE, else CONFLICT (marketer).",
        permission_classes=[IsMarketer],
    )
    async def publish_badge(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The badge's id; NOT_FOUND if none.")],
    ) -> BadgeDefinition:
        return BadgeDefinition.from_model(await change_status(badge_id(id), BadgeStatus.ACTIVE))

    @strawberry.mutation(
        description="Stop awarding a badge: DRAFT or ACTIVE to ARCHIVED, else CONFLICT; levels already "
        "earned stay (marketer).",
        permission_classes=[IsMarketer],
    )
    async def archive_badge(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The badge's id; NOT_FOUND if none.")],
    ) -> BadgeDefinition:
        return BadgeDefinition.from_model(await change_status(badge_id(id), BadgeStatus.ARCHIVED))
