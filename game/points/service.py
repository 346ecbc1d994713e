"""The life of points: held while a purchase can be returned, available, then expired, oldest first.

Pending points live in `pending_points`, outside the balance: they cannot be spent. The release job posts
each row's points (less what refunds cancelled) to the ledger under the purchase's own award key, so a
second or late run finds nothing left to do.

Expiry is computed from the ledger alone, first in first out. Every debit (a redemption, a refund, a
clawback, an earlier expiry) spends the oldest points, so what is still unspent of the credits posted before
a cutoff is `credits before the cutoff - every debit so far`, when positive. The daily job posts that as an
EXPIRY entry under the customer's lock; a second run the same day (or any later run) finds the earlier
expiry among the debits and posts nothing more. A cancelled redemption gives its points back as a new
credit, dated from the cancellation.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from game.awards import keys
from game.awards.keys import Reason
from game.awards.service import Award, Granted, grant
from game.leaderboards.engine import count_posted
from game.leaderboards.ranking import Standing
from game.ledger.models import EntryKind, LedgerEntry
from game.notifications.models import NotificationKind
from game.notifications.service import queue_notification
from game.points.models import PendingPoints
from game.sql import execute, fetch_all, fetch_one, insert

SOON_DAYS = 30


# ------------------------------------------------------------------------------------------------ pending


async def hold(conn: BaseDBAsyncClient, award: Award, available_at: datetime) -> None:
    """Holds a purchase's award until `available_at` instead of posting it; the caller's transaction."""
    if award.points <= 0:
        return
    await insert(
        conn,
        "pending_points",
        {
            "customer_id": award.customer_id,
            "award_key": award.key,
            "kind": award.kind.value,
            "reason": award.reason.value,
            "text": award.text[:200],
            "event_id": award.event_id,
            "points": award.points,
            "cancelled": 0,
            "available_at": available_at,
            "released_at": None,
            "created_at": datetime.now(UTC),
        },
    )


async def cancel_pending(conn: BaseDBAsyncClient, award_keys: list[str], points: int) -> int:
    """A refund inside the return window: cancels up to `points` of the unreleased points held under these
    keys, in order, and returns how many it cancelled (the rest comes out of the balance). The caller holds
    the purchase's row lock, so two refunds of one order take turns."""
    cancelled = 0
    for key in award_keys:
        if cancelled == points:
            break
        lock = " FOR UPDATE" if conn.capabilities.dialect == "postgres" else ""
        row = await fetch_one(
            "SELECT id, points, cancelled FROM pending_points WHERE award_key = $1 "
            f"AND released_at IS NULL{lock}",
            key,
            conn=conn,
        )
        if row is None:
            continue
        take = min(points - cancelled, int(row["points"]) - int(row["cancelled"]))
        if take > 0:
            await execute(
                conn, "UPDATE pending_points SET cancelled = cancelled + $1 WHERE id = $2", take, row["id"]
            )
            cancelled += take
    return cancelled


async def pending_of(customer_id: UUID) -> int:
    row = await fetch_one(
        "SELECT COALESCE(SUM(points - cancelled), 0) AS n FROM pending_points "
        "WHERE customer_id = $1 AND released_at IS NULL",
        customer_id,
    )
    return int(row["n"]) if row else 0


@dataclass(slots=True)
class Released:
    granted: list[tuple[UUID, Granted]] = field(default_factory=list)
    standings: list[Standing] = field(default_factory=list)  # the boards they moved, to mirror after commit


async def release_due(tz: ZoneInfo, now: datetime | None = None, batch: int = 500) -> Released:
    """Makes held points available once their window is over; safe to run twice, at once, or late. The
    points count on the boards now, in the season of their purchase (game/leaderboards/truth.py)."""
    now = now or datetime.now(UTC)
    released = Released()
    async with in_transaction() as conn:
        rows = await fetch_all(
            conn,
            "SELECT id FROM pending_points WHERE released_at IS NULL AND available_at <= $1 "
            "ORDER BY id LIMIT $2",
            now,
            batch,
        )
    for row in rows:
        async with in_transaction() as conn:
            # Conditional: of two runs, one releases the row and the other finds it released.
            held = await fetch_one(
                "UPDATE pending_points SET released_at = $1 WHERE id = $2 AND released_at IS NULL "
                "RETURNING customer_id, award_key, kind, reason, text, event_id, points, cancelled",
                now,
                row["id"],
                conn=conn,
            )
            if held is None:
                continue
            customer_id = UUID(str(held["customer_id"]))
            award = Award(
                customer_id=customer_id,
                points=int(held["points"]) - int(held["cancelled"]),
                kind=EntryKind(held["kind"]),
                reason=Reason(held["reason"]),
                key=str(held["award_key"]),
                text=str(held["text"]),
                event_id=held["event_id"],
            )
            released.granted.append((customer_id, await grant(conn, award)))
            released.standings += await count_posted(conn, [award.key], tz)
    return released


# ------------------------------------------------------------------------------------------------- expiry


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def months_after(day: date, months: int) -> date:
    return months_before(day, -months)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Expiring:
    points: int
    day: date


async def _credits_and_debits(
    conn: BaseDBAsyncClient | None, customer_id: UUID, before: datetime
) -> tuple[int, int]:
    row = await fetch_one(
        # Placeholders in order of appearance: SQLite's `?` are positional (game/sql.py).
        "SELECT COALESCE(SUM(CASE WHEN delta > 0 AND created_at < $1 THEN delta ELSE 0 END), 0) AS credits, "
        "COALESCE(SUM(CASE WHEN delta < 0 THEN -delta ELSE 0 END), 0) AS debits "
        "FROM ledger_entry WHERE customer_id = $2",
        before,
        customer_id,
        conn=conn,
    )
    assert row is not None
    return int(row["credits"]), int(row["debits"])


async def expiring_soon(customer_id: UUID, months: int, today: date | None = None) -> list[Expiring]:
    """What will expire in the next 30 days, per day, if nothing is spent meanwhile."""
    if months <= 0:
        return []
    today = today or datetime.now(UTC).date()
    start = months_before(today, months)
    credits, debits = await _credits_and_debits(None, customer_id, _midnight(start + timedelta(days=1)))
    unspent = credits - debits  # of the points expiring by tomorrow's run; negative: slack for later ones
    soon = []
    if unspent > 0:
        soon.append(Expiring(unspent, today + timedelta(days=1)))
    async with in_transaction() as conn:
        later = await fetch_all(
            conn,
            "SELECT created_at, delta FROM ledger_entry WHERE customer_id = $1 AND delta > 0 "
            "AND created_at >= $2 AND created_at < $3 ORDER BY id",
            customer_id,
            _midnight(start + timedelta(days=1)),
            _midnight(start + timedelta(days=SOON_DAYS + 1)),
        )
    for row in later:
        created = row["created_at"]
        created = datetime.fromisoformat(created) if isinstance(created, str) else created
        before = max(unspent, 0)
        unspent += int(row["delta"])
        if unspent > before:
            # Posted on day d, it expires at the first run after d + months: the midnight that ends d.
            day = months_after(created.date(), months) + timedelta(days=1)
            if soon and soon[-1].day == day:
                soon[-1] = Expiring(soon[-1].points + unspent - before, day)
            else:
                soon.append(Expiring(unspent - before, day))
    return soon


async def expire_customer(customer_id: UUID, months: int, today: date) -> Granted | None:
    """Posts what of the customer's points older than `months` is still unspent, under the customer's lock
    (a redemption at the same moment either spent them first or waits and sees the expiry)."""
    cutoff = _midnight(months_before(today, months))
    async with in_transaction() as conn:
        lock = " FOR NO KEY UPDATE" if conn.capabilities.dialect == "postgres" else ""
        await fetch_one(f"SELECT id FROM customer WHERE id = $1{lock}", customer_id, conn=conn)
        credits, debits = await _credits_and_debits(conn, customer_id, cutoff)
        unspent = credits - debits
        if unspent <= 0:
            return None
        award = Award(
            customer_id=customer_id,
            points=-unspent,
            kind=EntryKind.EXPIRY,
            reason=Reason.EXPIRY,
            key=keys.expiry(customer_id, today.isoformat()),
            text=f"{unspent} points expired",
        )
        return await grant(conn, award)


async def expire_due(months: int, notice_days: int, today: date | None = None) -> list[tuple[UUID, Granted]]:
    """The daily job: expires what is due and queues a notice for what expires within `notice_days`."""
    if months <= 0:
        return []
    today = today or datetime.now(UTC).date()
    cutoff = _midnight(months_before(today, months))
    async with in_transaction() as conn:
        due = await fetch_all(
            conn,
            "SELECT DISTINCT customer_id FROM ledger_entry WHERE delta > 0 AND created_at < $1",
            cutoff,
        )
        warned = await fetch_all(
            conn,
            "SELECT DISTINCT customer_id FROM ledger_entry WHERE delta > 0 AND created_at >= $1 "
            "AND created_at < $2",
            cutoff,
            _midnight(months_before(today, months) + timedelta(days=notice_days)),
        )
    expired = []
    for row in due:
        customer_id = UUID(str(row["customer_id"]))
        granted = await expire_customer(customer_id, months, today)
        if granted is not None:
            expired.append((customer_id, granted))
    for row in warned:
        await _notify(UUID(str(row["customer_id"])), months, today, notice_days)
    return expired


async def _notify(customer_id: UUID, months: int, today: date, notice_days: int) -> None:
    soon = [
        e for e in await expiring_soon(customer_id, months, today) if e.day <= today + timedelta(notice_days)
    ]
    if not soon:
        return
    async with in_transaction() as conn:
        for item in soon:
            # One notice per customer and expiry day: the unique key makes a second run queue nothing.
            key = keys.expiry_notice(customer_id, item.day.isoformat())
            payload = {"points": item.points, "date": item.day.isoformat()}
            await queue_notification(conn, customer_id, key, NotificationKind.POINTS_EXPIRING, payload)


async def find_lifecycle_problems(months: int, today: date | None = None) -> list[str]:
    """Where pending, available and expired points do not add up (should always be empty):
    a held row is in the ledger only once released, for exactly its points less what refunds cancelled;
    and no customer has more expired than the points old enough to expire."""
    problems = []
    rows = await PendingPoints.all().order_by("id")
    entries = dict(
        await LedgerEntry.filter(award_key__in=[r.award_key for r in rows]).values_list("award_key", "delta")
    )
    for row in rows:
        posted = entries.get(row.award_key)
        if not 0 <= row.cancelled <= row.points:
            problems.append(f"pending {row.id}: cancelled {row.cancelled} of {row.points}")
        due = row.points - row.cancelled
        expected = (due or None) if row.released_at is not None else None
        if posted != expected:
            problems.append(f"pending {row.id}: ledger {posted}, expected {expected}")
    if months > 0:
        cutoff = _midnight(months_before(today or datetime.now(UTC).date(), months))
        expired = await LedgerEntry.filter(kind=EntryKind.EXPIRY).values_list("customer_id", flat=True)
        for customer_id in {UUID(str(c)) for c in expired}:
            total = -sum(
                await LedgerEntry.filter(customer_id=customer_id, kind=EntryKind.EXPIRY).values_list(
                    "delta", flat=True
                )  # type: ignore[arg-type]
            )
            credits, _ = await _credits_and_debits(None, customer_id, cutoff)
            if total > credits:
                problems.append(f"customer {customer_id}: {total} expired of {credits} old enough to")
    return problems
