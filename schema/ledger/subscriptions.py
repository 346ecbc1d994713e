from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from game.ledger.live import points_changes
from schema.context import Info
from schema.ledger.types import PointsChange, PointsChangePart, PointsChangeReason
from schema.permissions import IsCustomer


@strawberry.type
class LedgerSubscriptions:
    @strawberry.subscription(
        description="The signed-in customer's balance, each time it changes.", permission_classes=[IsCustomer]
    )
    async def points_changed(self, info: Info) -> AsyncGenerator[PointsChange, None]:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        async for change in points_changes(info.context.arq, customer_id):
            parts = change.parts or ((change.reason, change.delta),)
            yield PointsChange(
                balance=change.balance,
                delta=change.delta,
                reason=PointsChangeReason(change.reason.value),
                parts=[PointsChangePart(reason=PointsChangeReason(r.value), delta=d) for r, d in parts],
            )
