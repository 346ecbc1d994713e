"""The rewards catalogue, and redemptions as safe as a bank's: the stock is never oversold, the balance never
goes below zero by a redemption, and a replayed request answers what the first one did.

A redemption is one transaction: it records a `redemption` event (the engine sees it: a challenge can count
redemptions), locks the customer's row, checks the reward, the per-customer limit and the available balance
under that lock, takes one unit of stock by a conditional UPDATE, and debits the points through the award
path under `keys.redemption(customer, idempotencyKey)`. A refusal rolls all of it back.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from arq.connections import ArqRedis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from game.awards import keys
from game.awards.keys import Reason
from game.awards.service import Award, grant
from game.customers.errors import CustomerReason
from game.errors import DomainError, ErrorCode, bad_input
from game.events.models import Event
from game.events.queue import enqueue_processing
from game.events.service import NewEvent, record_once, record_withdrawal, validate_key
from game.ledger.live import PointsChange, points_update
from game.ledger.models import EntryKind, LedgerEntry
from game.rewards.errors import RewardReason, refused
from game.rewards.models import Redemption, RedemptionStatus, Reward, RewardKind, RewardStatus
from game.sql import execute, fetch_one

MAX_PAGE = 100
MAX_COST = 10_000_000
MAX_STOCK = 10_000_000
MAX_IDEMPOTENCY_KEY = 120  # "redemption:<uuid>:<key>" fits the 200-character award key column
# No 0/O, 1/I/L: a cashier reads the code aloud or types it from a phone screen. 31^12 is about 2^59.
COUPON_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
COUPON_LENGTH = 12
_LOCALE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")


@dataclass(frozen=True, slots=True)
class RewardInput:
    kind: RewardKind
    name: dict[str, str]
    cost_points: int
    description: dict[str, str] = field(default_factory=dict)
    image_url: str | None = None
    stock: int | None = None
    per_customer_limit: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    coupon_valid_days: int | None = None
    cancel_window_hours: int = 24
    audience_tags: list[str] = field(default_factory=list)


def _validate_texts(texts: dict[str, str], what: str, max_length: int, *, required: bool) -> None:
    if required and not texts:
        raise bad_input(f"{what} needs at least one locale", what)
    for locale, text in texts.items():
        if not _LOCALE.match(locale):
            raise bad_input(f"{what}: {locale!r} is not a locale such as 'en' or 'fr-FR'", what)
        if not 1 <= len(text) <= max_length:
            raise bad_input(f"{what}[{locale}] must have 1 to {max_length} characters", what)


def _validate(data: RewardInput) -> None:
    _validate_texts(data.name, "name", 120, required=True)
    _validate_texts(data.description, "description", 2000, required=False)
    _validate_numbers(data)
    for name, moment in (("startsAt", data.starts_at), ("endsAt", data.ends_at)):
        if moment is not None and moment.tzinfo is None:
            raise bad_input(f"{name} must carry a UTC offset", name)
    if data.starts_at and data.ends_at and data.ends_at <= data.starts_at:
        raise bad_input("endsAt must be after startsAt", "endsAt")
    if len(data.audience_tags) > 20 or any(not 1 <= len(t) <= 40 for t in data.audience_tags):
        raise bad_input("audienceTags: at most 20 tags of 1 to 40 characters", "audienceTags")


def _validate_numbers(data: RewardInput) -> None:
    if data.image_url is not None and (
        not data.image_url.startswith("https://") or not 9 <= len(data.image_url) <= 500
    ):
        raise bad_input("imageUrl must be an https:// URL of at most 500 characters", "imageUrl")
    if not 1 <= data.cost_points <= MAX_COST:
        raise bad_input(f"costPoints must be between 1 and {MAX_COST}", "costPoints")
    if data.stock is not None and not 0 <= data.stock <= MAX_STOCK:
        raise bad_input(f"stock must be between 0 and {MAX_STOCK}, or null for unlimited", "stock")
    if data.per_customer_limit is not None and not 1 <= data.per_customer_limit <= 1000:
        raise bad_input("perCustomerLimit must be between 1 and 1000, or null", "perCustomerLimit")
    if data.coupon_valid_days is not None and not 1 <= data.coupon_valid_days <= 3650:
        raise bad_input("couponValidDays must be between 1 and 3650, or null", "couponValidDays")
    if not 0 <= data.cancel_window_hours <= 24 * 90:
        raise bad_input("cancelWindowHours must be between 0 and 2160", "cancelWindowHours")


def _columns(data: RewardInput) -> dict[str, Any]:
    return {
        "kind": data.kind,
        "name": data.name,
        "description": data.description,
        "image_url": data.image_url,
        "cost_points": data.cost_points,
        "stock": data.stock,
        "per_customer_limit": data.per_customer_limit,
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "coupon_valid_days": data.coupon_valid_days,
        "cancel_window_hours": data.cancel_window_hours,
        "audience_tags": sorted(set(data.audience_tags)),
    }


async def create_reward(data: RewardInput) -> Reward:
    _validate(data)
    now = datetime.now(UTC)
    return await Reward.create(**_columns(data), created_at=now, updated_at=now)


async def _get(reward_id: int) -> Reward:
    reward = await Reward.get_or_none(id=reward_id)
    if reward is None:
        raise _no_reward()
    return reward


async def update_reward(reward_id: int, data: RewardInput) -> Reward:
    """Changes what a reward is; a lower stock than what was already redeemed simply leaves none."""
    _validate(data)
    async with in_transaction() as conn:
        reward = await Reward.select_for_update().using_db(conn).get_or_none(id=reward_id)
        if reward is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, "no reward with this id", reason=RewardReason.UNKNOWN_REWARD
            )
        if reward.status is RewardStatus.ARCHIVED:
            raise DomainError(ErrorCode.CONFLICT, "an archived reward cannot be changed")
        # Only the definition's columns: `redeemed` belongs to concurrent redemptions.
        await (
            Reward.filter(id=reward_id).using_db(conn).update(**_columns(data), updated_at=datetime.now(UTC))
        )
    return await _get(reward_id)


async def set_status(reward_id: int, status: RewardStatus) -> Reward:
    reward = await _get(reward_id)
    if reward.status is RewardStatus.ARCHIVED and status is not RewardStatus.ARCHIVED:
        raise DomainError(ErrorCode.CONFLICT, "an archived reward cannot be published again")
    await Reward.filter(id=reward_id).update(status=status, updated_at=datetime.now(UTC))
    return await _get(reward_id)


async def definitions(status: RewardStatus | None) -> list[Reward]:
    query = Reward.all() if status is None else Reward.filter(status=status)
    return await query.order_by("id")


# ---------------------------------------------------------------------------------------------- customers


def _live(reward: Reward | dict[str, Any], now: datetime) -> bool:
    get = reward.get if isinstance(reward, dict) else reward.__getattribute__
    starts_at, ends_at = get("starts_at"), get("ends_at")
    return (
        str(get("status")) == RewardStatus.LIVE.value
        and (starts_at is None or _utc(starts_at) <= now)
        and (ends_at is None or now < _utc(ends_at))
    )


def _utc(moment: datetime | str) -> datetime:
    if isinstance(moment, str):  # SQLite hands raw rows back as text
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _eligible(audience: list[str], tags: list[str]) -> bool:
    return not audience or bool(set(audience) & set(tags))


@dataclass(frozen=True, slots=True)
class Offer:
    """A live reward as one customer sees it."""

    reward: Reward
    stock_left: int | None
    held: int  # the customer's redemptions of it, not cancelled
    blocked_by: RewardReason | None  # why the customer cannot redeem it now; None: they can


async def offers(customer_id: UUID, tags: list[str], balance: int) -> list[Offer]:
    """Live rewards the customer's tags admit, with what stands in the way of redeeming each."""
    now = datetime.now(UTC)
    rewards = [r for r in await Reward.filter(status=RewardStatus.LIVE).order_by("cost_points", "id")]
    rewards = [r for r in rewards if _live(r, now) and _eligible(r.audience_tags, tags)]
    held: dict[int, int] = {}
    for reward_id in (
        await Redemption.filter(customer_id=customer_id, reward_id__in=[r.id for r in rewards])
        .exclude(status=RedemptionStatus.CANCELLED)
        .values_list("reward_id", flat=True)
    ):
        held[int(reward_id)] = held.get(int(reward_id), 0) + 1  # type: ignore[call-overload]
    result = []
    for reward in rewards:
        left = None if reward.stock is None else max(reward.stock - reward.redeemed, 0)
        mine = held.get(reward.id, 0)
        blocked = None
        if left == 0:
            blocked = RewardReason.OUT_OF_STOCK
        elif reward.per_customer_limit is not None and mine >= reward.per_customer_limit:
            blocked = RewardReason.LIMIT_REACHED
        elif balance < reward.cost_points:
            blocked = RewardReason.INSUFFICIENT_POINTS
        result.append(Offer(reward, left, mine, blocked))
    return result


@dataclass(frozen=True, slots=True)
class Redeemed:
    redemption: Redemption
    balance: int
    duplicate: bool


def coupon_code() -> str:
    return "".join(secrets.choice(COUPON_ALPHABET) for _ in range(COUPON_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(c for c in code.upper() if c not in "- ")[:64]


def _receipt() -> str:
    return "DON-" + secrets.token_hex(8).upper()


async def _lock_customer(conn: BaseDBAsyncClient, customer_id: UUID) -> list[str]:
    """Locks the customer's row (the lock every change of their balance queues on) and returns their tags."""
    lock = " FOR NO KEY UPDATE" if conn.capabilities.dialect == "postgres" else ""
    row = await fetch_one(f"SELECT tags FROM customer WHERE id = $1{lock}", customer_id, conn=conn)
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such customer", reason=CustomerReason.UNKNOWN_CUSTOMER)
    tags = row["tags"]
    return list(json.loads(tags) if isinstance(tags, str) else tags)


async def _available(conn: BaseDBAsyncClient, customer_id: UUID) -> int:
    row = await fetch_one("SELECT points FROM balance WHERE customer_id = $1", customer_id, conn=conn)
    return int(row["points"]) if row else 0


async def _admissible(
    conn: BaseDBAsyncClient, reward: dict[str, Any], customer_id: UUID, tags: list[str], now: datetime
) -> int:
    """The reward's price, once every check made under the customer's lock passes; else the refusal."""
    reward_id = reward["id"]
    if not _live(reward, now):
        raise refused(ErrorCode.CONFLICT, RewardReason.NOT_AVAILABLE, "this reward cannot be redeemed now")
    audience = reward["audience_tags"]
    audience = json.loads(audience) if isinstance(audience, str) else audience
    if not _eligible(audience, tags):
        raise refused(ErrorCode.FORBIDDEN, RewardReason.NOT_ELIGIBLE, "this reward is not offered to you")
    cost = int(reward["cost_points"])
    limit = reward["per_customer_limit"]
    if limit is not None:
        # Counted under the customer's lock: two concurrent redemptions of one customer take turns.
        row = await fetch_one(
            "SELECT COUNT(*) AS n FROM redemption WHERE reward_id = $1 AND customer_id = $2 AND status <> $3",
            reward_id,
            customer_id,
            RedemptionStatus.CANCELLED.value,
            conn=conn,
        )
        if row is not None and int(row["n"]) >= int(limit):
            raise refused(ErrorCode.CONFLICT, RewardReason.LIMIT_REACHED, f"at most {limit} per customer")
    if await _available(conn, customer_id) < cost:
        raise refused(
            ErrorCode.CONFLICT, RewardReason.INSUFFICIENT_POINTS, f"this reward costs {cost} points"
        )
    return cost


async def redeem(arq: ArqRedis, customer_id: UUID, reward_id: int, idempotency_key: str) -> Redeemed:
    validate_key(idempotency_key, "idempotencyKey", MAX_IDEMPOTENCY_KEY)
    award_key = keys.redemption(customer_id, idempotency_key)
    now = datetime.now(UTC)
    new = NewEvent(
        customer_id,
        "redemption",
        f"rewards:{customer_id}",
        idempotency_key,
        {"reward_id": reward_id},
        now,
    )

    async def apply(conn: BaseDBAsyncClient, event_id: int) -> Redeemed:
        tags = await _lock_customer(conn, customer_id)
        reward = await fetch_one(
            "SELECT id, kind, status, name, cost_points, per_customer_limit, starts_at, ends_at, "
            "coupon_valid_days, audience_tags FROM reward WHERE id = $1",
            reward_id,
            conn=conn,
        )
        if reward is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, "no reward with this id", reason=RewardReason.UNKNOWN_REWARD
            )
        cost = await _admissible(conn, reward, customer_id, tags, now)
        # One conditional UPDATE: concurrent redemptions queue on the reward's row, and the one that finds
        # no unit left changes nothing.
        taken = await fetch_one(
            "UPDATE reward SET redeemed = redeemed + 1 WHERE id = $1 AND status = $2 "
            "AND (stock IS NULL OR redeemed < stock) RETURNING redeemed",
            reward_id,
            RewardStatus.LIVE.value,
            conn=conn,
        )
        if taken is None:
            raise refused(ErrorCode.CONFLICT, RewardReason.OUT_OF_STOCK, "no unit of this reward is left")
        name = reward["name"]
        name = json.loads(name) if isinstance(name, str) else name
        kind = RewardKind(reward["kind"])
        # What rules can filter on. The request's hash covers the reward id alone, so a replay still matches
        # after the marketer reprices the reward.
        facts = {"reward_id": reward_id, "kind": kind.value, "cost_points": cost}
        await execute(conn, "UPDATE event SET payload = $1 WHERE id = $2", facts, event_id)
        debit = Award(
            customer_id=customer_id,
            points=-cost,
            kind=EntryKind.REDEMPTION,
            reason=Reason.REDEMPTION,
            key=award_key,
            text=f"Reward: {name.get('en') or next(iter(name.values()))}",
            event_id=event_id,
        )
        balance = (await grant(conn, debit)).balance
        assert balance is not None
        assert balance >= 0
        valid_days = reward["coupon_valid_days"]
        donation = kind is RewardKind.DONATION
        redemption = await Redemption.create(
            using_db=conn,
            reward_id=reward_id,
            customer_id=customer_id,
            award_key=award_key,
            points=cost,
            code=None if donation else coupon_code(),
            receipt=_receipt() if donation else None,
            expires_at=None if donation or valid_days is None else now + timedelta(days=int(valid_days)),
            snapshot={"name": name, "kind": kind.value},
            created_at=now,
        )
        return Redeemed(redemption, balance, duplicate=False)

    async def replay(_event: Event) -> Redeemed:
        redemption = await Redemption.get(award_key=award_key)
        return Redeemed(redemption, await _available_now(customer_id), duplicate=True)

    event_id, result, duplicate = await record_once(new, apply, replay)
    if not duplicate:
        change = PointsChange(result.balance, -result.redemption.points, Reason.REDEMPTION)
        await enqueue_processing(arq, event_id, [points_update(customer_id, change)])
    return result


async def _available_now(customer_id: UUID) -> int:
    row = await fetch_one("SELECT points FROM balance WHERE customer_id = $1", customer_id)
    return int(row["points"]) if row else 0


async def cancel(arq: ArqRedis, customer_id: UUID, redemption_id: int) -> Redemption:
    """Gives the points and the unit of stock back, once; a consumed coupon cannot be cancelled. The
    redemption's event is withdrawn by a `redemption_cancelled` event, which the engine processes like a
    refund: a challenge or badge the redemption completed is taken back if it no longer holds."""
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        await _lock_customer(conn, customer_id)
        redemption = (
            await Redemption.select_for_update()
            .using_db(conn)
            .get_or_none(id=redemption_id, customer_id=customer_id)
        )
        if redemption is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, "no redemption with this id", reason=RewardReason.UNKNOWN_REDEMPTION
            )
        if redemption.status is RedemptionStatus.CANCELLED:
            return redemption  # cancelled before: answered as it is, nothing moves twice
        if redemption.status is RedemptionStatus.CONSUMED:
            raise refused(ErrorCode.CONFLICT, RewardReason.COUPON_USED, "the coupon was already used")
        reward = await Reward.get(id=redemption.reward_id, using_db=conn)
        if now > _utc(redemption.created_at) + timedelta(hours=reward.cancel_window_hours):
            raise refused(
                ErrorCode.CONFLICT,
                RewardReason.CANCEL_WINDOW_OVER,
                "this redemption can no longer be cancelled",
            )
        # Conditional on ACTIVE: a till consuming the coupon at this moment and this cancellation cannot
        # both succeed.
        changed = (
            await Redemption.filter(id=redemption.id, status=RedemptionStatus.ACTIVE)
            .using_db(conn)
            .update(status=RedemptionStatus.CANCELLED, cancelled_at=now)
        )
        if not changed:
            raise refused(ErrorCode.CONFLICT, RewardReason.COUPON_USED, "the coupon was already used")
        await execute(conn, "UPDATE reward SET redeemed = redeemed - 1 WHERE id = $1", redemption.reward_id)
        back = Award(
            customer_id=customer_id,
            points=redemption.points,
            kind=EntryKind.REDEMPTION,
            reason=Reason.REDEMPTION,
            key=keys.reversal(redemption.award_key),
            text=f"Cancelled: {redemption.snapshot.get('name', {}).get('en', 'reward')}",
        )
        balance = (await grant(conn, back)).balance
        cancelled_event = await _withdraw_redemption_event(conn, redemption, now)
    assert balance is not None
    change = PointsChange(balance, redemption.points, Reason.REDEMPTION)
    await enqueue_processing(arq, cancelled_event, [points_update(customer_id, change)])
    return await Redemption.get(id=redemption.id)


async def _withdraw_redemption_event(conn: BaseDBAsyncClient, redemption: Redemption, now: datetime) -> int:
    """Records the `redemption_cancelled` event withdrawing the redemption's own event (the one its ledger
    entry was posted under); returns the new event's id, for the engine."""
    spent = await fetch_one(
        "SELECT event_id FROM ledger_entry WHERE award_key = $1", redemption.award_key, conn=conn
    )
    assert spent is not None  # posted by redeem, under its event
    assert spent["event_id"] is not None
    cancelled = NewEvent(
        redemption.customer_id,
        "redemption_cancelled",
        # Not the redemptions' source (`rewards:<customer>`), whose keys the customer chooses: a key made to
        # look like this one must not collide with it.
        "rewards",
        # Unique per redemption: a redemption is cancelled once (its row is locked and checked above).
        f"cancel:{redemption.id}",
        {"redemption_id": redemption.id, "reward_id": redemption.reward_id},
        now,
    )
    return await record_withdrawal(conn, int(spent["event_id"]), cancelled)


@dataclass(frozen=True, slots=True)
class Page:
    redemptions: list[Redemption]
    has_next: bool


async def history(customer_id: UUID, *, first: int = 20, before_id: int | None = None) -> Page:
    """Newest first; `before_id` is the id of the last redemption of the previous page."""
    if not 1 <= first <= MAX_PAGE:
        raise bad_input(f"first must be between 1 and {MAX_PAGE}", "first")
    query = Redemption.filter(customer_id=customer_id)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.order_by("-id").limit(first + 1)
    return Page(rows[:first], len(rows) > first)


# ------------------------------------------------------------------------------------------------ coupons


async def _coupon(code: str) -> Redemption:
    redemption = await Redemption.get_or_none(code=normalise_code(code))
    if redemption is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no coupon with this code", reason=RewardReason.UNKNOWN_COUPON)
    return redemption


def coupon_problem(redemption: Redemption, now: datetime) -> RewardReason | None:
    if redemption.status is RedemptionStatus.CONSUMED:
        return RewardReason.COUPON_USED
    if redemption.status is RedemptionStatus.CANCELLED:
        return RewardReason.CANCELLED
    if redemption.expires_at is not None and _utc(redemption.expires_at) <= now:
        return RewardReason.COUPON_EXPIRED
    return None


async def validate_coupon(code: str) -> Redemption:
    """What a till sees before it hands the reward over; changes nothing."""
    return await _coupon(code)


async def consume_coupon(source: str, code: str, order_id: str | None) -> Redemption:
    """Once only: of two tills at once, one consumes and the other is refused with COUPON_USED. The same
    till sending the same order again gets the consumed coupon back, as a replay."""
    if order_id is not None:
        validate_key(order_id, "orderId", 110)
    redemption = await _coupon(code)
    now = datetime.now(UTC)
    changed = (
        await Redemption.filter(id=redemption.id, status=RedemptionStatus.ACTIVE)
        .filter(expires_at__isnull=True)
        .update(
            status=RedemptionStatus.CONSUMED, consumed_at=now, consumed_by=source, consumed_order_id=order_id
        )
        if redemption.expires_at is None
        else await Redemption.filter(
            id=redemption.id, status=RedemptionStatus.ACTIVE, expires_at__gt=now
        ).update(
            status=RedemptionStatus.CONSUMED, consumed_at=now, consumed_by=source, consumed_order_id=order_id
        )
    )
    current = await Redemption.get(id=redemption.id)
    if changed:
        return current
    if (
        current.status is RedemptionStatus.CONSUMED
        and current.consumed_by == source
        and order_id is not None
        and current.consumed_order_id == order_id
    ):
        return current
    problem = coupon_problem(current, now) or RewardReason.COUPON_USED
    raise refused(ErrorCode.CONFLICT, problem, "this coupon cannot be used")


async def find_stock_problems() -> list[str]:
    """Rewards whose stock count differs from their redemptions, and redemptions the ledger does not match
    (should always be empty): `redeemed` counts the redemptions not cancelled and never exceeds the stock;
    each redemption has its debit, and a cancelled one (only) its reversal."""
    problems = []
    held: dict[int, int] = {}
    redemptions = await Redemption.all().order_by("id")
    for r in redemptions:
        if r.status is not RedemptionStatus.CANCELLED:
            held[r.reward_id] = held.get(r.reward_id, 0) + 1
    for reward in await Reward.all().order_by("id"):
        if reward.redeemed != held.get(reward.id, 0):
            problems.append(
                f"reward {reward.id}: redeemed {reward.redeemed}, redemptions {held.get(reward.id, 0)}"
            )
        if reward.stock is not None and reward.redeemed > reward.stock:
            problems.append(f"reward {reward.id}: redeemed {reward.redeemed} of a stock of {reward.stock}")
    award_keys = [r.award_key for r in redemptions]
    entries = dict(
        await LedgerEntry.filter(
            award_key__in=award_keys + [keys.reversal(k) for k in award_keys]
        ).values_list("award_key", "delta")
    )
    for r in redemptions:
        if entries.get(r.award_key) != -r.points:
            problems.append(f"redemption {r.id}: debit {entries.get(r.award_key)}, price {r.points}")
        back = entries.get(keys.reversal(r.award_key))
        if back != (r.points if r.status is RedemptionStatus.CANCELLED else None):
            problems.append(f"redemption {r.id} ({r.status.value}): reversal {back}")
    return problems


def _no_reward() -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, "no reward with this id", reason=RewardReason.UNKNOWN_REWARD)
