from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from game.challenges.live import progress_updates
from game.customers.service import customer_locale
from game.validation import in_text
from schema.context import Info
from schema.permissions import IsCustomer


@strawberry.type(description="A challenge's progress moved for the signed-in customer.")
class ChallengeProgressUpdate:
    challenge_id: strawberry.ID = strawberry.field(description="The challenge's id.")
    title: str = strawberry.field(description="The challenge's title, in the customer's language.")
    period: str = strawberry.field(description="The period it counts for, as in the customer's challenges.")
    values: list[int] = strawberry.field(description="Progress per step, in the order of the rule's steps.")
    targets: list[int] = strawberry.field(description="Each step's target, in the order of the rule's steps.")
    completed: bool = strawberry.field(
        description="Completed as often as the period allows: nothing more counts until the next period. "
        "A completion that allows another leaves it false and the values back at 0."
    )


@strawberry.type
class ChallengeSubscriptions:
    @strawberry.subscription(
        description="The signed-in customer's challenge progress, each time an event moves it.",
        permission_classes=[IsCustomer],
    )
    async def challenge_progress(self, info: Info) -> AsyncGenerator[ChallengeProgressUpdate, None]:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        locale = await customer_locale(customer_id)
        async for moved in progress_updates(info.context.arq, customer_id):
            yield ChallengeProgressUpdate(
                challenge_id=strawberry.ID(str(moved.challenge_id)),
                title=in_text(moved.title, locale),
                period=moved.period,
                values=moved.values,
                targets=moved.targets,
                completed=moved.completed,
            )
