from __future__ import annotations

from datetime import datetime

import strawberry

from game.purchases.service import Item, PurchaseInput, RefundInput, record_purchase, refund_purchase
from schema.context import Info
from schema.permissions import CanRecordPurchases


@strawberry.input
class PurchaseItemInput:
    sku: str
    category: str | None = None
    quantity: int = 1
    unit_price_cents: int = 0
    eco: bool = strawberry.field(
        default=False, description="An eco-responsible item (refill, second-hand...)."
    )


@strawberry.input
class RecordPurchaseInput:
    customer_id: strawberry.ID
    order_id: str = strawberry.field(description="Unique per API-key source: a replay is awarded once.")
    amount_cents: int = strawberry.field(description="Amount paid, in minor units of `currency`.")
    currency: str = strawberry.field(description="ISO 4217 code with an earn rule, e.g. 'EUR'.")
    occurred_at: datetime | None = strawberry.field(
        default=None, description="With a UTC offset; now if absent."
    )
    channel: str | None = None
    items: list[PurchaseItemInput] | None = None


@strawberry.type
class RecordPurchasePayload:
    points_awarded: int = strawberry.field(description="The points this purchase earned, eco bonus included.")
    eco_bonus: int = strawberry.field(
        description="Of pointsAwarded, what the eco items' bonus added (its own ledger entry, kind BONUS)."
    )
    balance: int = strawberry.field(description="The balance right after this purchase was awarded.")
    duplicate: bool = strawberry.field(
        description="True when this order was already recorded; nothing changed."
    )


@strawberry.input
class RefundPurchaseInput:
    customer_id: strawberry.ID
    order_id: str
    refund_id: str = strawberry.field(description="Unique per source: a replayed refund is applied once.")
    amount_cents: int


@strawberry.type
class RefundPurchasePayload:
    points_reversed: int
    balance: int
    duplicate: bool


@strawberry.type
class PurchaseMutations:
    @strawberry.mutation(
        description="Award points for a purchase (API key).", permission_classes=[CanRecordPurchases]
    )
    async def record_purchase(self, info: Info, input: RecordPurchaseInput) -> RecordPurchasePayload:
        data = PurchaseInput(
            customer_id=str(input.customer_id),
            order_id=input.order_id,
            amount_cents=input.amount_cents,
            currency=input.currency,
            occurred_at=input.occurred_at,
            channel=input.channel,
            items=[
                Item(i.sku, i.category, i.quantity, i.unit_price_cents, i.eco) for i in (input.items or [])
            ],
        )
        source = info.context.viewer.source or ""
        result = await record_purchase(info.context.arq, source, data)
        return RecordPurchasePayload(
            points_awarded=result.points_awarded,
            eco_bonus=result.eco_bonus,
            balance=result.balance,
            duplicate=result.duplicate,
        )

    @strawberry.mutation(
        description="Take back the points of a (partly) refunded purchase, in proportion (API key).",
        permission_classes=[CanRecordPurchases],
    )
    async def refund_purchase(self, info: Info, input: RefundPurchaseInput) -> RefundPurchasePayload:
        data = RefundInput(str(input.customer_id), input.order_id, input.refund_id, input.amount_cents)
        result = await refund_purchase(info.context.arq, info.context.viewer.source or "", data)
        return RefundPurchasePayload(
            points_reversed=result.points_reversed, balance=result.balance, duplicate=result.duplicate
        )
