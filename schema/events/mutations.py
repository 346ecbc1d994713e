from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from game.events.service import track_event
from schema.context import Info
from schema.permissions import IsCustomer


@strawberry.type(description="The recorded event; the worker evaluates it shortly after.")
class TrackEventPayload:
    event_id: strawberry.ID = strawberry.field(description="The event's id.")
    duplicate: bool = strawberry.field(
        description="True when the customer already used this idempotencyKey: the first event stands, "
        "nothing new is recorded."
    )


@strawberry.type
class EventMutations:
    @strawberry.mutation(
        description="Record an app-side event (share, review, check_in...) of the signed-in customer, for "
        "challenges, badges and the streak. New events are limited per customer, all types together (30 a "
        "minute by default): beyond, RATE_LIMITED with extensions.retryAfter in seconds.",
        permission_classes=[IsCustomer],
    )
    async def track_event(
        self,
        info: Info,
        type: Annotated[
            str,
            strawberry.argument(
                description="A lowercase identifier (a-z, 0-9, '_'; starts with a letter; at most 64), e.g. "
                "'check_in'; not purchase, refund, eco_action or referral_qualified."
            ),
        ],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="1 to 200 printable characters, unique per customer: a retry is recorded once, "
                "and one with other attributes is a CONFLICT."
            ),
        ],
        attributes: Annotated[
            JSON | None,
            strawberry.argument(
                description="A JSON object of at most 4096 bytes, which rules can filter on; none for {}."
            ),
        ] = None,
    ) -> TrackEventPayload:
        context = info.context
        assert context.viewer.customer_id is not None  # IsCustomer
        event_id, duplicate = await track_event(
            context.arq,
            customer_id=context.viewer.customer_id,
            type=type,
            idempotency_key=idempotency_key,
            attributes=attributes,
            limit=context.settings.track_event_limit,
            window_s=context.settings.track_event_window_s,
        )
        return TrackEventPayload(event_id=strawberry.ID(str(event_id)), duplicate=duplicate)
