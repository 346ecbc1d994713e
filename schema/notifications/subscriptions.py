from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from game import live
from game.notifications.service import channel, received
from schema.context import Info
from schema.notifications.types import Notification
from schema.permissions import IsCustomer


@strawberry.type
class NotificationSubscriptions:
    @strawberry.subscription(
        description="The signed-in customer's new inbox notifications, as the worker delivers them.",
        permission_classes=[IsCustomer],
    )
    async def notification_received(self, info: Info) -> AsyncGenerator[Notification, None]:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        async for message in live.listen(info.context.arq, channel(customer_id)):
            # The worker publishes the id only: read and rendered here, for this app alone.
            found = await received(customer_id, int(message["id"]))
            if found is not None:
                yield Notification.from_model(found.notification, found.locale)
