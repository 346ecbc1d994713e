from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from game.events.service import track_event
from schema.context import Info
from schema.permissions import IsCustomer


@strawberry.type
class TrackEventPayload:
    event_id: strawberry.ID
    duplicate: bool


@strawberry.type
class EventMutations:
    @strawberry.mutation(
        description="Record an app-side event (share, review, check_in...) of the signed-in customer.",
        permission_classes=[IsCustomer],
    )
    async def track_event(
        self, info: Info, type: str, idempotency_key: str, attributes: JSON | None = None
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
