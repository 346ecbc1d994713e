"""Purchases earn points once per (source, order); refunds take them back in proportion, never more."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from arq.connections import ArqRedis
from tortoise.backends.base.client import BaseDBAsyncClient

from game.awards import keys
from game.awards.keys import Reason
from game.awards.service import Award, grant
from game.customers.service import existing_customer_id
from game.earn.service import Earned, Line, active_rate, points_for
from game.errors import DomainError, ErrorCode, bad_input, not_found
from game.events.models import Event
from game.events.queue import enqueue_processing
from game.events.service import NewEvent, record_once, validate_key, validate_occurred_at
from game.ledger.live import PointsChange, points_update, publish_points_change
from game.ledger.models import EntryKind, LedgerEntry
from game.ledger.service import balance_of
from game.live import Update
from game.points.service import cancel_pending, hold
from game.purchases.errors import PurchaseReason
from game.purchases.models import Purchase
from game.sql import insert

# Order and refund ids become award keys, "purchase:<source>:<order id>", in a 200-character column; sources
# have at most 80 characters, so ids get 110.
MAX_REFERENCE = 110
MAX_AMOUNT_MINOR = 10_000_000  # 100,000.00 in a two-decimal currency: beyond that it is a typo, not a sale
MAX_ITEMS = 200
MAX_QUANTITY = 10_000


@dataclass(frozen=True, slots=True)
class Item:
    sku: str
    category: str | None
    quantity: int
    unit_price_cents: int
    eco: bool = False


@dataclass(frozen=True, slots=True)
class PurchaseInput:
    customer_id: str
    order_id: str
    amount_cents: int
    currency: str
    occurred_at: datetime | None = None
    channel: str | None = None
    items: Sequence[Item] = ()
    # The till's opaque token of the card or wallet paid with; referral fraud checks compare them.
    payment_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class PurchaseResult:
    points_awarded: int  # eco bonus included
    balance: int
    duplicate: bool
    eco_bonus: int = 0


@dataclass(frozen=True, slots=True)
class RefundInput:
    customer_id: str
    order_id: str
    refund_id: str
    amount_cents: int


@dataclass(frozen=True, slots=True)
class RefundResult:
    points_reversed: int  # pending points cancelled included
    balance: int
    duplicate: bool
    from_balance: int = 0  # what came out of the balance (the rest cancelled pending points)


def _validate_purchase(data: PurchaseInput) -> None:
    validate_key(data.order_id, "orderId", MAX_REFERENCE)
    if not 0 < data.amount_cents <= MAX_AMOUNT_MINOR:
        raise bad_input(f"amountCents must be between 1 and {MAX_AMOUNT_MINOR}", "amountCents")
    if data.channel is not None and not 1 <= len(data.channel) <= 40:
        raise bad_input("channel must have 1 to 40 characters", "channel")
    fingerprint = data.payment_fingerprint
    if fingerprint is not None and (not 1 <= len(fingerprint) <= 128 or not fingerprint.isprintable()):
        raise bad_input("paymentFingerprint must be 1 to 128 printable characters", "paymentFingerprint")
    if len(data.items) > MAX_ITEMS:
        raise bad_input(f"at most {MAX_ITEMS} items per purchase", "items")
    for i, item in enumerate(data.items):
        if not 1 <= len(item.sku) <= 64:
            raise bad_input(f"items[{i}].sku must have 1 to 64 characters", "items")
        if item.category is not None and not 1 <= len(item.category) <= 64:
            raise bad_input(f"items[{i}].category must have 1 to 64 characters", "items")
        if not 1 <= item.quantity <= MAX_QUANTITY:
            raise bad_input(f"items[{i}].quantity must be between 1 and {MAX_QUANTITY}", "items")
        if not 0 <= item.unit_price_cents <= MAX_AMOUNT_MINOR:
            raise bad_input(f"items[{i}].unitPriceCents must be between 0 and {MAX_AMOUNT_MINOR}", "items")


async def record_purchase(arq: ArqRedis, source: str, data: PurchaseInput) -> PurchaseResult:
    """Earns the purchase's points in one entry and, when eco items earn a bonus, the bonus in a second
    one, so the customer sees it; the purchase row keeps their sum, which refunds take back in proportion."""
    _validate_purchase(data)
    occurred_at = validate_occurred_at(data.occurred_at)
    customer_id = await existing_customer_id(data.customer_id)
    rate = await active_rate(data.currency)
    earned = points_for(
        rate,
        data.amount_cents,
        [Line(i.category, i.quantity, i.unit_price_cents, i.eco) for i in data.items],
    )
    payload = {
        "order_id": data.order_id,
        "amount_cents": data.amount_cents,
        "currency": data.currency,
        "occurred_at": data.occurred_at.isoformat() if data.occurred_at else None,
        "channel": data.channel,
        "items": [asdict(item) for item in data.items],
    }
    if data.payment_fingerprint is not None:  # only when sent: earlier requests keep their payload hash
        payload["payment_fingerprint"] = data.payment_fingerprint
    new = NewEvent(customer_id, "purchase", source, f"purchase:{data.order_id}", payload, occurred_at)
    award_key, eco_award_key = keys.purchase(source, data.order_id), keys.eco_bonus(source, data.order_id)

    async def apply(conn: BaseDBAsyncClient, event_id: int) -> PurchaseResult:
        await insert(
            conn,
            "purchase",
            {
                "event_id": event_id,
                "customer_id": customer_id,
                "source": source,
                "order_id": data.order_id,
                "amount_cents": data.amount_cents,
                "currency": data.currency,
                "points_awarded": earned.total,
                "refunded_cents": 0,
                "points_reversed": 0,
                "created_at": datetime.now(UTC),
            },
        )
        base = Award(
            customer_id=customer_id,
            points=earned.base,
            kind=EntryKind.EARN,
            reason=Reason.PURCHASE,
            key=award_key,
            text=f"Purchase {data.order_id}",
            event_id=event_id,
        )
        # A return window holds the purchase's points (bonus included) outside the balance until it ends.
        held_until = datetime.now(UTC) + timedelta(days=rate.pending_days) if rate.pending_days else None

        async def pay(award: Award) -> int | None:
            if held_until is None:
                return (await grant(conn, award)).balance
            await hold(conn, award, held_until)
            return None

        balance = await pay(base)
        if earned.eco_bonus:
            bonus = Award(
                customer_id=customer_id,
                points=earned.eco_bonus,
                kind=EntryKind.BONUS,
                reason=Reason.ECO_BONUS,
                key=eco_award_key,
                text=f"Eco bonus, purchase {data.order_id}",
                event_id=event_id,
            )
            paid = await pay(bonus)
            balance = paid if paid is not None else balance
        if balance is None:  # nothing earned, or held: no entry was posted
            balance = await balance_of(customer_id, conn)
        return PurchaseResult(earned.total, balance, duplicate=False, eco_bonus=earned.eco_bonus)

    async def replay(event: Event) -> PurchaseResult:
        entries = await LedgerEntry.filter(award_key__in=[award_key, eco_award_key]).order_by("id")
        eco_bonus = sum(e.delta for e in entries if e.award_key == eco_award_key)
        balance = entries[-1].balance_after if entries else await balance_of(customer_id)
        return PurchaseResult(sum(e.delta for e in entries), balance, duplicate=True, eco_bonus=eco_bonus)

    event_id, result, duplicate = await record_once(new, apply, replay)
    announced = [] if duplicate or rate.pending_days else _announcement(customer_id, result.balance, earned)
    await enqueue_processing(arq, event_id, announced)
    return result


def _announcement(customer_id: UUID, balance: int, earned: Earned) -> list[Update]:
    """One live message with the final balance; the purchase points and the eco bonus are its parts."""
    parts = [(reason, points) for reason, points in _parts(earned) if points]
    if not parts:
        return []
    return [points_update(customer_id, PointsChange(balance, earned.total, parts[0][0], tuple(parts)))]


def _parts(earned: Earned) -> list[tuple[Reason, int]]:
    return [(Reason.PURCHASE, earned.base), (Reason.ECO_BONUS, earned.eco_bonus)]


async def refund_purchase(arq: ArqRedis, source: str, data: RefundInput) -> RefundResult:
    validate_key(data.order_id, "orderId", MAX_REFERENCE)
    validate_key(data.refund_id, "refundId", MAX_REFERENCE)
    if not 0 < data.amount_cents <= MAX_AMOUNT_MINOR:
        raise bad_input(f"amountCents must be between 1 and {MAX_AMOUNT_MINOR}", "amountCents")
    customer_id = await existing_customer_id(data.customer_id)
    purchase = await Purchase.get_or_none(source=source, order_id=data.order_id, customer_id=customer_id)
    if purchase is None:
        raise not_found(
            f"no purchase {data.order_id!r} from this source for this customer",
            PurchaseReason.UNKNOWN_PURCHASE,
        )
    award_key = keys.refund(source, data.refund_id)
    payload = {"order_id": data.order_id, "refund_id": data.refund_id, "amount_cents": data.amount_cents}
    new = NewEvent(
        customer_id, "refund", source, f"refund:{data.refund_id}", payload, validate_occurred_at(None)
    )

    async def apply(conn: BaseDBAsyncClient, event_id: int) -> RefundResult:
        # Lock the purchase row: two refunds of one order are applied one after the other.
        locked = await Purchase.select_for_update().using_db(conn).get(id=purchase.id)
        refunded = locked.refunded_cents + data.amount_cents
        if refunded > locked.amount_cents:
            raise DomainError(
                ErrorCode.BAD_USER_INPUT,
                f"refunds would total {refunded}, more than the {locked.amount_cents} paid",
                field="amountCents",
                reason=PurchaseReason.REFUND_EXCEEDS_PURCHASE,
            )
        # Cumulative rounding: the reversals of all refunds add up to exactly what was awarded. The eco bonus
        # is part of points_awarded: refunds say how much, not which items, so it goes back in proportion.
        reversed_total = locked.points_awarded * refunded // locked.amount_cents
        points = reversed_total - locked.points_reversed
        locked.refunded_cents = refunded
        locked.points_reversed = reversed_total
        await locked.save(using_db=conn, update_fields=["refunded_cents", "points_reversed"])
        # Inside the return window the points are still pending: those go first, the rest from the balance.
        purchase_keys = [keys.purchase(source, data.order_id), keys.eco_bonus(source, data.order_id)]
        from_balance = points - await cancel_pending(conn, purchase_keys, points)
        reversal = Award(
            customer_id=customer_id,
            points=-from_balance,
            kind=EntryKind.REFUND,
            reason=Reason.REFUND,
            key=award_key,
            text=f"Refund {data.refund_id} of purchase {data.order_id}",
            event_id=event_id,
        )
        balance = (await grant(conn, reversal)).balance
        if balance is None:  # nothing to take back: no entry was posted
            balance = await balance_of(customer_id, conn)
        return RefundResult(points, balance, duplicate=False, from_balance=from_balance)

    async def replay(event: Event) -> RefundResult:
        entry = await LedgerEntry.get_or_none(award_key=award_key)
        if entry is None:
            return RefundResult(0, await balance_of(customer_id), duplicate=True)
        return RefundResult(-entry.delta, entry.balance_after, duplicate=True)

    event_id, result, duplicate = await record_once(new, apply, replay)
    await enqueue_processing(arq, event_id)
    if not duplicate and result.from_balance:
        await publish_points_change(
            arq, customer_id, PointsChange(result.balance, -result.from_balance, Reason.REFUND)
        )
    return result
