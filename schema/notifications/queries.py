from __future__ import annotations

from typing import Annotated

import strawberry

from game.notifications import campaigns
from game.notifications import service as notifications
from game.notifications.errors import NotificationReason
from game.validation import bounded
from schema.context import Info
from schema.ids import int_id
from schema.notifications.types import (
    Campaign,
    NotificationConnection,
    NotificationPreferences,
    PushSubscription,
    decode_cursor,
)
from schema.permissions import IsCustomer, IsMarketer


@strawberry.type
class NotificationQueries:
    @strawberry.field(
        description="The VAPID public key (base64url, uncompressed P-256 point) to pass as "
        "applicationServerKey to pushManager.subscribe (anyone)."
    )
    def vapid_public_key(self, info: Info) -> str:
        return info.context.settings.vapid_public_key

    @strawberry.field(
        description="The signed-in customer's inbox, newest first, in the customer's language.",
        permission_classes=[IsCustomer],
    )
    async def notifications(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Notifications per page, 1 to 100.")] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(description="pageInfo.endCursor of the previous page; none for the newest."),
        ] = None,
        unread_only: Annotated[bool, strawberry.argument(description="Only those not marked read.")] = False,
    ) -> NotificationConnection:
        customer = await info.context.signed_in_customer()
        page = await notifications.inbox(
            customer.id,
            bounded(first, 1, 100, "first"),
            decode_cursor(after) if after else None,
            unread_only,
        )
        return NotificationConnection.from_page(page, customer.locale)

    @strawberry.field(
        description="How many notifications are unread (customer).", permission_classes=[IsCustomer]
    )
    async def unread_notification_count(self, info: Info) -> int:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        return await notifications.unread_count(customer_id)

    @strawberry.field(
        description="What the signed-in customer wants pushed (customer).", permission_classes=[IsCustomer]
    )
    async def notification_preferences(self, info: Info) -> NotificationPreferences:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        return NotificationPreferences.of(await notifications.preferences(customer_id))

    @strawberry.field(
        description="The devices the signed-in customer receives pushes on (customer).",
        permission_classes=[IsCustomer],
    )
    async def push_subscriptions(self, info: Info) -> list[PushSubscription]:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        return [PushSubscription.from_model(s) for s in await notifications.subscriptions_of(customer_id)]

    @strawberry.field(description="One campaign and its report (marketer).", permission_classes=[IsMarketer])
    async def campaign(
        self, id: Annotated[strawberry.ID, strawberry.argument(description="Its id; NOT_FOUND if none.")]
    ) -> Campaign:
        return Campaign.from_model(
            await campaigns.get_campaign(int_id(id, "campaign", NotificationReason.UNKNOWN_CAMPAIGN))
        )

    @strawberry.field(
        description="The latest campaigns, newest first (marketer).", permission_classes=[IsMarketer]
    )
    async def campaigns(
        self, first: Annotated[int, strawberry.argument(description="How many, 1 to 100.")] = 20
    ) -> list[Campaign]:
        return [
            Campaign.from_model(c) for c in await campaigns.list_campaigns(bounded(first, 1, 100, "first"))
        ]
