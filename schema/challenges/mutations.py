from __future__ import annotations

from typing import Annotated

import strawberry

from game.challenges.models import Recurrence as RecurrenceKind
from game.challenges.service import (
    Action,
    change_status,
    create_challenge,
    update_challenge,
)
from game.challenges.service import (
    ChallengeInput as Data,
)
from schema.challenges.queries import challenge_id
from schema.challenges.types import ChallengeDefinition, ChallengeInput
from schema.context import Info
from schema.ids import reference
from schema.permissions import IsMarketer


def _data(input: ChallengeInput) -> Data:
    return Data(
        title=input.title.to_dict(),
        rule=input.rule,
        starts_at=input.starts_at,
        ends_at=input.ends_at,
        description=input.description.to_dict() if input.description else None,
        icon=input.icon,
        recurrence=RecurrenceKind[input.recurrence.name],
        reward_points=input.reward_points,
        reward_badge_id=reference(input.reward_badge_id) if input.reward_badge_id else None,
        audience_tags=input.audience_tags,
        max_completions_per_period=input.max_completions_per_period,
        budget_completions=input.budget_completions,
        budget_points=input.budget_points,
        backfill=input.backfill,
    )


@strawberry.type
class ChallengeMutations:
    @strawberry.mutation(description="Create a draft challenge (marketer).", permission_classes=[IsMarketer])
    async def create_challenge(
        self, input: Annotated[ChallengeInput, strawberry.argument(description="The new challenge.")]
    ) -> ChallengeDefinition:
        return ChallengeDefinition.from_model(await create_challenge(_data(input)))

    @strawberry.mutation(
        description="Replace a draft challenge (marketer); CONFLICT once it is published.",
        permission_classes=[IsMarketer],
    )
    async def update_challenge(
        self,
        id: Annotated[strawberry.ID, strawberry.argument(description="The draft's id; NOT_FOUND if none.")],
        input: Annotated[ChallengeInput, strawberry.argument(description="Every field, anew.")],
    ) -> ChallengeDefinition:
        return ChallengeDefinition.from_model(await update_challenge(challenge_id(id), _data(input)))

    @strawberry.mutation(
        description="Start counting events: DRAFT or PAUSED to ACTIVE, else CONFLICT (marketer). Its reward "
        "badge must be ACTIVE. With backfill, the first publication also counts the window's earlier events.",
        permission_classes=[IsMarketer],
    )
    async def publish_challenge(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The challenge's id; NOT_FOUND if none.")
        ],
    ) -> ChallengeDefinition:
        return ChallengeDefinition.from_model(
            await change_status(challenge_id(id), Action.PUBLISH, info.context.arq)
        )

    @strawberry.mutation(
        description="Stop counting events for now: ACTIVE to PAUSED, else CONFLICT (marketer).",
        permission_classes=[IsMarketer],
    )
    async def pause_challenge(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The challenge's id; NOT_FOUND if none.")
        ],
    ) -> ChallengeDefinition:
        return ChallengeDefinition.from_model(
            await change_status(challenge_id(id), Action.PAUSE, info.context.arq)
        )

    @strawberry.mutation(
        description="Retire a challenge for good: DRAFT, ACTIVE or PAUSED to ARCHIVED, else CONFLICT "
        "(marketer).",
        permission_classes=[IsMarketer],
    )
    async def archive_challenge(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="The challenge's id; NOT_FOUND if none.")
        ],
    ) -> ChallengeDefinition:
        return ChallengeDefinition.from_model(
            await change_status(challenge_id(id), Action.ARCHIVE, info.context.arq)
        )
