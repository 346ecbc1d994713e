from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry

from game.challenges.errors import ChallengeReason
from game.challenges.models import ChallengeStatus as Status
from game.challenges.service import View, customer_challenges, get_challenge, list_challenges
from schema.challenges.types import ChallengeDefinition, ChallengeStatus, ChallengeView, CustomerChallengeType
from schema.context import Info
from schema.ids import int_id
from schema.permissions import IsCustomer, IsMarketer


@strawberry.type
class ChallengeQueries:
    @strawberry.field(
        description="The signed-in customer's challenges with their progress.",
        permission_classes=[IsCustomer],
    )
    async def challenges(
        self,
        info: Info,
        status: Annotated[
            ChallengeView, strawberry.argument(description="Which of them; ACTIVE if absent.")
        ] = (ChallengeView.ACTIVE),
    ) -> list[CustomerChallengeType]:
        customer = await info.context.signed_in_customer()
        views = await customer_challenges(
            customer.id,
            customer.tags,
            View[status.name],
            info.context.settings.programme_timezone,
            datetime.now(UTC),
        )
        wanted = sorted({b for v in views if (b := v.challenge.reward_badge_id) is not None})
        loaded = await info.context.loaders.badge.load_many(wanted) if wanted else []
        badges = {badge.id: badge for badge in loaded if badge is not None}
        return [CustomerChallengeType.from_view(v, customer.locale, badges) for v in views]

    @strawberry.field(
        description="Every challenge, optionally of one status, newest first (marketer).",
        permission_classes=[IsMarketer],
    )
    async def challenge_definitions(
        self,
        status: Annotated[
            ChallengeStatus | None,
            strawberry.argument(description="Only those of this status; all if absent."),
        ] = None,
    ) -> list[ChallengeDefinition]:
        rows = await list_challenges(Status[status.name] if status else None)
        return [ChallengeDefinition.from_model(c) for c in rows]

    @strawberry.field(description="One challenge (marketer).", permission_classes=[IsMarketer])
    async def challenge_definition(
        self,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The challenge's id; NOT_FOUND if none.")
        ],
    ) -> ChallengeDefinition:
        return ChallengeDefinition.from_model(await get_challenge(challenge_id(id)))


def challenge_id(value: strawberry.ID) -> int:
    return int_id(value, "challenge", ChallengeReason.UNKNOWN_CHALLENGE)
