from __future__ import annotations

from typing import Annotated

import strawberry

from game.notifications import campaigns
from game.notifications import service as notifications
from schema.context import Info
from schema.ids import reference
from schema.notifications.types import (
    Campaign,
    CampaignInput,
    NotificationPreferences,
    NotificationPreferencesInput,
    PushSubscription,
    PushSubscriptionInput,
)
from schema.permissions import IsCustomer, IsMarketer


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(
        description="Register (or refresh) this device for pushes (customer). BAD_USER_INPUT (field "
        "endpoint) unless the endpoint is https to an allowed push service.",
        permission_classes=[IsCustomer],
    )
    async def register_push_subscription(
        self,
        info: Info,
        input: Annotated[
            PushSubscriptionInput, strawberry.argument(description="The browser's subscription JSON.")
        ],
    ) -> PushSubscription:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        subscription = await notifications.register_subscription(
            customer_id,
            input.endpoint,
            input.keys.p256dh,
            input.keys.auth,
            input.user_agent,
            info.context.settings.push_hosts,
        )
        return PushSubscription.from_model(subscription)

    @strawberry.mutation(
        description="Stop pushes to this device (customer); false if it was not registered.",
        permission_classes=[IsCustomer],
    )
    async def unregister_push_subscription(
        self,
        info: Info,
        endpoint: Annotated[str, strawberry.argument(description="The endpoint given at registration.")],
    ) -> bool:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        return await notifications.unregister_subscription(customer_id, endpoint)

    @strawberry.mutation(
        description="Mark notifications read (customer); returns how many were unread.",
        permission_classes=[IsCustomer],
    )
    async def mark_notifications_read(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="Which; none given: every notification. Unknown ids count 0."),
        ] = None,
    ) -> int:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        chosen = None if ids is None else [reference(i) for i in ids[:1000]]
        return await notifications.mark_read(customer_id, chosen)

    @strawberry.mutation(
        description="Replace the signed-in customer's push preferences (customer).",
        permission_classes=[IsCustomer],
    )
    async def set_notification_preferences(
        self,
        info: Info,
        input: Annotated[NotificationPreferencesInput, strawberry.argument(description="Every preference.")],
    ) -> NotificationPreferences:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        return NotificationPreferences.of(
            await notifications.set_preferences(customer_id, input.to_preferences())
        )

    @strawberry.mutation(
        description="Send a campaign now or at sendAt to an audience (marketer): opted-in customers get it "
        "in their inbox and as a push; follow it with `campaign(id) { report }`.",
        permission_classes=[IsMarketer],
    )
    async def send_campaign(
        self, info: Info, input: Annotated[CampaignInput, strawberry.argument(description="The campaign.")]
    ) -> Campaign:
        campaign = await campaigns.create_campaign(
            input.title.to_dict(), input.body.to_dict(), input.link, input.audience_tags, input.send_at
        )
        await campaigns.enqueue_campaign(info.context.arq, campaign)
        return Campaign.from_model(campaign)
