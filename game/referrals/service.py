"""Referral chains: codes, the tree, settings, a marketer's review of held rewards, and the reads.

Qualification and clawback run in the engine (game/referrals/evaluation.py); this module is what customers and
marketers call.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from game.customers.models import Customer
from game.errors import DomainError, ErrorCode, bad_input, not_found
from game.referrals import repository as repo
from game.referrals.errors import ReferralReason
from game.referrals.models import (
    MemberStatus,
    QualificationStatus,
    ReferralMember,
    ReferralQualification,
    ReferralSetting,
)
from game.rules.generation import bump
from game.sql import fetch_one

SETTING_ID = 1
# No 0/O, 1/I/L: a code read aloud or copied from a screen is typed right.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_DEPTH = 5
DEFAULT_APPLY_WITHIN_DAYS = 30
MAX_POINTS = 1_000_000
MAX_ID = 2**63 - 1
_CODE = re.compile(f"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


@dataclass(frozen=True, slots=True)
class Settings:
    min_purchase_cents: int
    referee_points: int
    levels: dict[int, int]  # level -> points
    apply_within_days: int
    monthly_cap_per_referrer: int | None
    velocity_limit: int | None
    active: bool

    @property
    def depth(self) -> int:
        return max(self.levels, default=0)

    @classmethod
    def of_row(cls, row: ReferralSetting) -> Settings:
        return cls(
            min_purchase_cents=row.min_purchase_cents,
            referee_points=row.referee_points,
            levels={int(level["level"]): int(level["points"]) for level in row.levels},
            apply_within_days=row.apply_within_days,
            monthly_cap_per_referrer=row.monthly_cap_per_referrer,
            velocity_limit=row.velocity_limit,
            active=row.active,
        )


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str | None:
    """As typed: case, spaces and dashes do not matter. None when it cannot be anyone's code."""
    code = "".join(code.split()).replace("-", "").upper()
    return code if _CODE.match(code) else None


async def _owner(conn: BaseDBAsyncClient, code: str) -> ReferralMember | None:
    normalised = normalise_code(code)
    return await repo.member_by_code(conn, normalised) if normalised else None


def validate_device_id(device_id: str | None) -> str | None:
    if device_id is None:
        return None
    if not 1 <= len(device_id) <= 128 or not device_id.isprintable():
        raise bad_input("deviceId must be 1 to 128 printable characters", "deviceId")
    return device_id


async def _member(conn: BaseDBAsyncClient, customer_id: UUID) -> ReferralMember:
    """The customer's membership, created with a fresh code the first time (existing customers get theirs
    on first read)."""
    existing = await repo.member(conn, customer_id)
    if existing is not None:
        return existing
    code = new_code()
    while await repo.code_taken(conn, code):  # 31^8 codes: a second draw is already rare
        code = new_code()
    try:
        async with in_transaction() as nested:  # a savepoint: a concurrent first read may win
            return await ReferralMember.create(customer_id=customer_id, code=code, using_db=nested)
    except IntegrityError:
        found = await repo.member(conn, customer_id)
        if found is None:
            raise
        return found


async def referral_code(customer_id: UUID) -> str:
    found = await repo.member(get_connection("default"), customer_id)
    if found is not None:
        return found.code
    async with in_transaction() as conn:
        return (await _member(conn, customer_id)).code


async def settings(conn: BaseDBAsyncClient | None = None) -> Settings | None:
    query = ReferralSetting.filter(id=SETTING_ID)
    row = await (query.using_db(conn) if conn else query).first()
    return Settings.of_row(row) if row else None


async def referrer_of_code(code: str) -> UUID:
    """For registration: the code's owner, checked before the account is created."""
    async with in_transaction() as conn:
        found = await _owner(conn, code)
    if found is None:
        raise bad_input(
            "no customer has this referral code", "referralCode", reason=ReferralReason.UNKNOWN_CODE
        )
    return found.customer_id


@dataclass(frozen=True, slots=True)
class Applied:
    referrer_display_name: str
    referred_at: datetime
    status: MemberStatus


async def join(
    customer_id: UUID, code: str | None, device_id: str | None = None, now: datetime | None = None
) -> Applied | None:
    """Gives a customer their code and, with `code`, their referrer: at registration and by
    applyReferralCode. The referrer is set once; self-referral and cycles are refused."""
    device_id = validate_device_id(device_id)
    now = now or datetime.now(UTC)
    async with in_transaction() as conn:
        if code is None:
            member = await _member(conn, customer_id)
            if device_id is not None and member.device_id is None:
                await ReferralMember.filter(id=member.id).using_db(conn).update(device_id=device_id)
            return None
        await repo.lock_tree(conn)
        member = await _member(conn, customer_id)
        referrer = await _owner(conn, code)
        if referrer is None:
            raise bad_input("no customer has this referral code", "code", reason=ReferralReason.UNKNOWN_CODE)
        if referrer.customer_id == customer_id:
            raise bad_input("this is your own referral code", "code", reason=ReferralReason.SELF_REFERRAL)
        if member.referrer_id is not None:
            raise bad_input("you already have a referrer", "code", reason=ReferralReason.ALREADY_REFERRED)
        rules = await settings(conn)
        within = rules.apply_within_days if rules else DEFAULT_APPLY_WITHIN_DAYS
        row = await fetch_one("SELECT created_at FROM customer WHERE id = $1", customer_id, conn=conn)
        created_at = _aware(row["created_at"]) if row else now
        if now > created_at + timedelta(days=within):
            raise bad_input(
                f"a referral code is applied within {within} days of sign-up",
                "code",
                reason=ReferralReason.TOO_LATE,
            )
        chain = await repo.upline(conn, referrer.customer_id, repo.MAX_CHAIN)
        if any(str(link["customer_id"]) == str(customer_id) for link in chain):
            raise bad_input(
                "this code's owner was referred by you, directly or not", "code", reason=ReferralReason.CYCLE
            )
        await (
            ReferralMember.filter(id=member.id)
            .using_db(conn)
            .update(
                referrer_id=referrer.customer_id, referred_at=now, device_id=device_id or member.device_id
            )
        )
        name = await fetch_one(
            "SELECT display_name FROM customer WHERE id = $1", referrer.customer_id, conn=conn
        )
    return Applied(str(name["display_name"]) if name else "", now, member.status)


def _aware(moment: Any) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    assert isinstance(moment, datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SettingsInput:
    min_purchase_cents: int
    referee_points: int
    levels: list[tuple[int, int]]
    apply_within_days: int
    monthly_cap_per_referrer: int | None
    velocity_limit: int | None
    active: bool


def _validate(data: SettingsInput) -> None:
    if not 0 <= data.min_purchase_cents <= 10_000_000:
        raise bad_input("minPurchaseCents must be between 0 and 10000000", "minPurchaseCents")
    if not 0 <= data.referee_points <= MAX_POINTS:
        raise bad_input(f"refereePoints must be between 0 and {MAX_POINTS}", "refereePoints")
    seen = [level for level, _ in data.levels]
    if len(set(seen)) != len(seen) or any(not 1 <= level <= MAX_DEPTH for level in seen):
        raise bad_input(f"levels must be distinct, each 1 to {MAX_DEPTH}", "levels")
    if any(not 0 <= points <= MAX_POINTS for _, points in data.levels):
        raise bad_input(f"levels' points must be between 0 and {MAX_POINTS}", "levels")
    if not 1 <= data.apply_within_days <= 365:
        raise bad_input("applyWithinDays must be between 1 and 365", "applyWithinDays")
    if data.monthly_cap_per_referrer is not None and not 0 <= data.monthly_cap_per_referrer <= 100_000:
        raise bad_input("monthlyCapPerReferrer must be between 0 and 100000", "monthlyCapPerReferrer")
    if data.velocity_limit is not None and not 0 <= data.velocity_limit <= 100_000:
        raise bad_input("velocityLimit must be between 0 and 100000", "velocityLimit")


async def configure(data: SettingsInput) -> Settings:
    _validate(data)
    levels = [{"level": level, "points": points} for level, points in sorted(data.levels)]
    async with in_transaction() as conn:
        await bump(conn)  # the engine's snapshot says whether referrals are active
        row, _ = await ReferralSetting.update_or_create(
            defaults={
                "min_purchase_cents": data.min_purchase_cents,
                "referee_points": data.referee_points,
                "levels": levels,
                "apply_within_days": data.apply_within_days,
                "monthly_cap_per_referrer": data.monthly_cap_per_referrer,
                "velocity_limit": data.velocity_limit,
                "active": data.active,
                "updated_at": datetime.now(UTC),
            },
            id=SETTING_ID,
            using_db=conn,
        )
    return Settings.of_row(row)


# Reads ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LevelCount:
    level: int
    pending: int
    qualified: int
    held: int


@dataclass(frozen=True, slots=True)
class Referee:
    display_name: str
    status: MemberStatus
    referred_at: datetime


@dataclass(frozen=True, slots=True)
class Summary:
    code: str
    levels: list[LevelCount]
    referees: list[Referee]
    points_earned: int


async def summary(customer_id: UUID, first: int) -> Summary:
    if not 1 <= first <= 100:
        raise bad_input("first must be between 1 and 100", "first")
    # Reads outside a transaction (a count may be a moment older than the list); only a first read that
    # creates the customer's code writes.
    # Raw SQL: a read every app screen may show, where the ORM cost more CPU than the queries.
    conn = get_connection("default")
    found = await repo.code_and_levels(conn, customer_id)
    if found is None:
        async with in_transaction() as tx:
            code = (await _member(tx, customer_id)).code
        found = await repo.code_and_levels(conn, customer_id)
    code = str(found["code"]) if found else code
    levels = found["levels"] if found else None
    if isinstance(levels, str):
        levels = json.loads(levels)
    depth = max((int(level["level"]) for level in levels or []), default=1)
    counts: dict[int, dict[str, int]] = {level: {} for level in range(1, depth + 1)}
    for row in await repo.downline_counts(conn, customer_id, depth):
        counts[int(row["level"])][str(row["status"])] = int(row["n"])
    referees = await repo.referees(conn, customer_id, first)
    points = await repo.points_from_referrals(conn, customer_id)
    return Summary(
        code=code,
        levels=[
            LevelCount(
                level,
                pending=by.get(MemberStatus.PENDING, 0),
                qualified=by.get(MemberStatus.QUALIFIED, 0),
                held=by.get(MemberStatus.HELD, 0),
            )
            for level, by in counts.items()
        ],
        referees=[
            Referee(str(r["display_name"]), MemberStatus(r["status"]), _aware(r["referred_at"]))
            for r in referees
        ],
        points_earned=points,
    )


@dataclass(frozen=True, slots=True)
class Link:
    level: int
    display_name: str


async def chain(customer_id: UUID) -> list[Link]:
    # One statement: no transaction needed around it.
    rows = await repo.upline(get_connection("default"), customer_id, repo.MAX_CHAIN)
    return [Link(int(r["level"]), str(r["display_name"])) for r in rows]


@dataclass(frozen=True, slots=True)
class TopReferrer:
    customer_id: UUID
    display_name: str
    referred: int
    qualified: int

    @property
    def conversion_rate(self) -> float:
        return self.qualified / self.referred if self.referred else 0.0


async def top_referrers(first: int) -> list[TopReferrer]:
    if not 1 <= first <= 100:
        raise bad_input("first must be between 1 and 100", "first")
    async with in_transaction() as conn:
        rows = await repo.top_referrers(conn, first)
    return [
        TopReferrer(
            UUID(str(r["referrer_id"])), str(r["display_name"]), int(r["referred"]), int(r["qualified"])
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class HeldPage:
    rewards: list[ReferralQualification]
    has_next: bool


async def held_rewards(first: int, after: int) -> HeldPage:
    if not 1 <= first <= 100:
        raise bad_input("first must be between 1 and 100", "first")
    rows = await (
        ReferralQualification.filter(status=QualificationStatus.HELD, id__gt=after)
        .order_by("id")
        .limit(first + 1)
    )
    return HeldPage(list(rows[:first]), len(rows) > first)


async def names(customer_ids: list[UUID]) -> dict[str, tuple[str, str]]:
    """Display name and email of each customer, for the marketer's review."""
    rows = await Customer.filter(id__in=customer_ids).values_list("id", "display_name", "email")
    return {str(cid): (str(name), str(email)) for cid, name, email in rows}


def held_id(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_ID:  # beyond a BIGINT, PostgreSQL would fail on the comparison itself
        raise not_found("no held referral reward with this id", ReferralReason.UNKNOWN_HELD_REWARD)
    return number


def already_decided(status: QualificationStatus) -> DomainError:
    return DomainError(
        ErrorCode.CONFLICT,
        f"this referral reward was already decided ({status.value})",
        reason=ReferralReason.ALREADY_DECIDED,
    )


def validate_note(note: str) -> str:
    note = note.strip()
    if not 1 <= len(note) <= 500 or "\x00" in note:
        raise bad_input("reason must have 1 to 500 characters", "reason")
    return note
