from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from game.purchases.service import Item, PurchaseInput, RefundInput, record_purchase, refund_purchase
from schema.context import Info
from schema.permissions import CanRecordPurchases


@strawberry.input(
    description="One line of a purchase: what was bought, so categories and eco items can weigh."
)
class PurchaseItemInput:
    sku: str = strawberry.field(description="1 to 64 characters.")
    category: str | None = strawberry.field(
        default=None,
        description="1 to 64 characters; the item earns the percent the earn rule gives its category (100% "
        "when unlisted or absent).",
    )
    quantity: int = strawberry.field(default=1, description="1 to 10000.")
    unit_price_cents: int = strawberry.field(
        default=0,
        description="The price of one unit in minor units of the purchase's currency, 0 to 10000000.",
    )
    eco: bool = strawberry.field(
        default=False, description="An eco-responsible item (refill, second-hand...)."
    )


@strawberry.input(description="A purchase to award points for.")
class RecordPurchaseInput:
    customer_id: strawberry.ID = strawberry.field(
        description="The customer's UUID; NOT_FOUND if none has it."
    )
    order_id: str = strawberry.field(
        description="1 to 110 printable characters, unique per API-key source: a replay is awarded once, and "
        "one with other details is a CONFLICT."
    )
    amount_cents: int = strawberry.field(
        description="Amount paid, in minor units of `currency` (cents of EUR, yen of JPY), 1 to 10000000."
    )
    currency: str = strawberry.field(description="ISO 4217 code with an earn rule, e.g. 'EUR'.")
    occurred_at: datetime | None = strawberry.field(
        default=None,
        description="With a UTC offset, at most 5 minutes ahead and a year ago; now if absent.",
    )
    channel: str | None = strawberry.field(
        default=None, description="Where it was bought, e.g. 'store' or 'web': 1 to 40 characters."
    )
    items: list[PurchaseItemInput] | None = strawberry.field(
        default=None,
        description="At most 200. What they do not cover of the amount earns the base rate; when they add up "
        "to more than was paid (discounts), each weighs in proportion.",
    )
    payment_fingerprint: str | None = strawberry.field(
        default=None,
        description="An opaque token of the card or wallet paid with (1 to 128 printable characters), as the "
        "payment provider gives it; a referee and their upline paying with the same one holds referral "
        "rewards "
        "for review.",
    )


@strawberry.type(description="What a purchase earned.")
class RecordPurchasePayload:
    points_awarded: int = strawberry.field(description="The points this purchase earned, eco bonus included.")
    eco_bonus: int = strawberry.field(
        description="Of pointsAwarded, what the eco items' bonus added (its own ledger entry, kind BONUS)."
    )
    balance: int = strawberry.field(description="The balance right after this purchase was awarded.")
    duplicate: bool = strawberry.field(
        description="True when this order was already recorded; nothing changed."
    )


@strawberry.input(description="A refund, whole or partial, of a purchase this API key's source recorded.")
class RefundPurchaseInput:
    customer_id: strawberry.ID = strawberry.field(description="The purchase's customer (UUID).")
    order_id: str = strawberry.field(
        description="The purchase's orderId, as this source recorded it for this customer; NOT_FOUND "
        "otherwise."
    )
    refund_id: str = strawberry.field(
        description="1 to 110 printable characters, unique per source: a replayed refund is applied once."
    )
    amount_cents: int = strawberry.field(
        description="Amount refunded, in minor units of the purchase's currency, 1 to 10000000; an order's "
        "refunds together may not exceed what was paid."
    )


@strawberry.type(description="What a refund took back.")
class RefundPurchasePayload:
    points_reversed: int = strawberry.field(
        description="Points this refund took back: the purchase's points (eco bonus included) in proportion "
        "to the amount; all of an order's refunds together take back at most what it earned."
    )
    balance: int = strawberry.field(description="The balance right after this refund.")
    duplicate: bool = strawberry.field(
        description="True when this refundId was already applied; nothing changed."
    )


@strawberry.type
class PurchaseMutations:
    @strawberry.mutation(
        description="Award points for a purchase (API key with the 'purchases' scope).",
        permission_classes=[CanRecordPurchases],
    )
    async def record_purchase(
        self,
        info: Info,
        input: Annotated[RecordPurchaseInput, strawberry.argument(description="The purchase.")],
    ) -> RecordPurchasePayload:
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
            payment_fingerprint=input.payment_fingerprint,
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
        description="Take back the points of a (partly) refunded purchase, in proportion (API key with the "
        "'purchases' scope).",
        permission_classes=[CanRecordPurchases],
    )
    async def refund_purchase(
        self,
        info: Info,
        input: Annotated[RefundPurchaseInput, strawberry.argument(description="The refund.")],
    ) -> RefundPurchasePayload:
        data = RefundInput(str(input.customer_id), input.order_id, input.refund_id, input.amount_cents)
        result = await refund_purchase(info.context.arq, info.context.viewer.source or "", data)
        return RefundPurchasePayload(
            points_reversed=result.points_reversed, balance=result.balance, duplicate=result.duplicate
        )
