"""Eco-responsible actions: verified ones from stores and partners, declared ones from customers (capped)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from arq.connections import ArqRedis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Sum

from game.awards import keys
from game.awards.keys import Reason
from game.awards.service import Award, grant
from game.customers.models import Customer
from game.customers.service import existing_customer_id
from game.eco.errors import EcoReason
from game.eco.models import EcoActionType, EcoContribution
from game.errors import DomainError, ErrorCode, bad_input
from game.events.models import Event
from game.events.queue import enqueue_processing
from game.events.service import NewEvent, record_once, validate_key, validate_occurred_at
from game.ledger.live import PointsChange, publish_points_change
from game.ledger.models import EntryKind, LedgerEntry
from game.ledger.service import balance_of

MAX_QUANTITY = 1000
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


async def upsert_action_type(
    code: str,
    label: dict[str, str],
    co2e_grams_per_unit: int,
    points_per_unit: int = 0,
    declared_daily_cap: int = 1,
    active: bool = True,
) -> EcoActionType:
    if not _CODE.match(code):
        raise bad_input("code must be a lowercase identifier such as 'refill_cup'", "code")
    if not 0 <= co2e_grams_per_unit <= 1_000_000:
        raise bad_input("co2eGramsPerUnit must be between 0 and 1000000", "co2eGramsPerUnit")
    if not 0 <= points_per_unit <= 10_000:
        raise bad_input("pointsPerUnit must be between 0 and 10000", "pointsPerUnit")
    if not 0 <= declared_daily_cap <= MAX_QUANTITY:
        raise bad_input(f"declaredDailyCap must be between 0 and {MAX_QUANTITY}", "declaredDailyCap")
    fields = {
        "label": label,
        "co2e_grams_per_unit": co2e_grams_per_unit,
        "points_per_unit": points_per_unit,
        "declared_daily_cap": declared_daily_cap,
        "active": active,
    }
    action, _ = await EcoActionType.update_or_create(code=code, defaults=fields)
    return action


async def action_types() -> list[EcoActionType]:
    return await EcoActionType.all().order_by("code")


@dataclass(frozen=True, slots=True)
class EcoResult:
    points_awarded: int
    balance: int
    co2e_grams: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class EcoAction:
    code: str
    quantity: int
    idempotency_key: str
    proof: str | None = None
    occurred_at: datetime | None = None


async def record_eco_action(
    arq: ArqRedis, source: str, customer_id: str, action: EcoAction, tz: ZoneInfo
) -> EcoResult:
    """From a store or partner (API key): verified, so not capped."""
    return await _record(arq, await existing_customer_id(customer_id), source, action, tz, verified=True)


async def declare_eco_action(arq: ArqRedis, customer_id: UUID, action: EcoAction, tz: ZoneInfo) -> EcoResult:
    """From the customer: unverified, so capped per local day and action type."""
    return await _record(arq, customer_id, f"customer:{customer_id}", action, tz, verified=False)


async def _record(
    arq: ArqRedis, customer_id: UUID, source: str, action: EcoAction, tz: ZoneInfo, *, verified: bool
) -> EcoResult:
    validate_key(action.idempotency_key)
    if not 1 <= action.quantity <= MAX_QUANTITY:
        raise bad_input(f"quantity must be between 1 and {MAX_QUANTITY}", "quantity")
    if action.proof is not None and len(action.proof) > 500:
        raise bad_input("proof must have at most 500 characters", "proof")
    kind = await EcoActionType.get_or_none(code=action.code, active=True)
    if kind is None:
        raise bad_input(f"unknown eco action {action.code!r}", "type", reason=EcoReason.UNKNOWN_ACTION)
    occurred_at = validate_occurred_at(action.occurred_at)
    co2e = kind.co2e_grams_per_unit * action.quantity
    points = kind.points_per_unit * action.quantity
    award_key = keys.eco_action(source, action.idempotency_key)
    payload = {
        "action": action.code,
        "quantity": action.quantity,
        "verified": verified,
        "proof": action.proof,
        "co2e_g": co2e,
        "occurred_at": action.occurred_at.isoformat() if action.occurred_at else None,
    }
    new = NewEvent(customer_id, "eco_action", source, f"eco:{action.idempotency_key}", payload, occurred_at)
    day = occurred_at.astimezone(tz).date().isoformat()

    async def apply(conn: BaseDBAsyncClient, event_id: int) -> EcoResult:
        if not verified:
            await _check_cap(conn, customer_id, kind, action.quantity, day)
        await EcoContribution.create(
            using_db=conn,
            event_id=event_id,
            customer_id=customer_id,
            action=kind.code,
            quantity=action.quantity,
            co2e_grams=co2e,
            verified=verified,
            local_day=day,
            occurred_at=occurred_at,
        )
        if not points:
            return EcoResult(0, await balance_of(customer_id), co2e, duplicate=False)
        granted = await grant(
            conn,
            Award(
                customer_id=customer_id,
                points=points,
                kind=EntryKind.BONUS,
                reason=Reason.ECO_ACTION,
                key=award_key,
                text=f"Eco action: {kind.label.get('en') or kind.code}",
                event_id=event_id,
            ),
        )
        return EcoResult(points, granted.balance or 0, co2e, duplicate=False)

    async def replay(event: Event) -> EcoResult:
        entry = await LedgerEntry.get_or_none(award_key=award_key)
        balance = entry.balance_after if entry else await balance_of(customer_id)
        return EcoResult(entry.delta if entry else 0, balance, int(event.payload["co2e_g"]), duplicate=True)

    event_id, result, duplicate = await record_once(new, apply, replay)
    await enqueue_processing(arq, event_id)
    if not duplicate and points:
        await publish_points_change(arq, customer_id, PointsChange(result.balance, points, Reason.ECO_ACTION))
    return result


async def _check_cap(
    conn: BaseDBAsyncClient, customer_id: UUID, kind: EcoActionType, quantity: int, day: str
) -> None:
    # The customer's row lock queues their concurrent declarations, so two cannot both fit the last slot.
    # NO KEY: the event row this transaction inserted already holds a key-share lock on the customer, and
    # a plain FOR UPDATE would deadlock against another declaration holding the same.
    await Customer.select_for_update(no_key=True).using_db(conn).get(id=customer_id)
    same_day = EcoContribution.filter(
        customer_id=customer_id, action=kind.code, local_day=day, verified=False
    )
    declared = sum(await same_day.using_db(conn).values_list("quantity", flat=True))  # type: ignore[arg-type]
    if declared + quantity > kind.declared_daily_cap:
        raise DomainError(
            ErrorCode.RATE_LIMITED,
            f"at most {kind.declared_daily_cap} '{kind.code}' a day can be declared; {declared} already are",
            reason=EcoReason.DAILY_CAP_REACHED,
        )


@dataclass(frozen=True, slots=True)
class ActionImpact:
    action: str
    quantity: int
    co2e_grams: int


@dataclass(frozen=True, slots=True)
class Impact:
    co2e_grams: int
    verified_co2e_grams: int
    actions: list[ActionImpact]


async def eco_impact(customer_id: UUID | None) -> Impact:
    """One customer's impact, or the programme's when customer_id is None."""
    query = EcoContribution.all() if customer_id is None else EcoContribution.filter(customer_id=customer_id)
    rows = (
        await query.annotate(quantity_sum=Sum("quantity"), co2e_sum=Sum("co2e_grams"))
        .group_by("action", "verified")
        .values("action", "verified", "quantity_sum", "co2e_sum")
    )
    by_action: dict[str, list[int]] = {}
    total = verified_total = 0
    for row in rows:
        quantity, co2e = int(row["quantity_sum"] or 0), int(row["co2e_sum"] or 0)
        totals = by_action.setdefault(row["action"], [0, 0])
        totals[0] += quantity
        totals[1] += co2e
        total += co2e
        verified_total += co2e if row["verified"] else 0
    actions = [ActionImpact(a, q, c) for a, (q, c) in sorted(by_action.items())]
    return Impact(total, verified_total, actions)
