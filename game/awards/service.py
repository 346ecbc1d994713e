"""The engine's one award path: every point that moves is an `Award` posted by `grant`, and every reward the
engine granted can be taken back, once, by `withdraw`.

`grant` posts the ledger entry and queues the award's notification in the caller's transaction and returns
what must be announced after commit. A reward the engine grants on its own (a challenge completion, a badge
level, a streak milestone) is also recorded in `award_grant`, so a refund can withdraw it: `withdraw` posts a
reversal entry under a key derived from the grant's, and the achievement may be earned again later under a
fresh key (game/awards/keys.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from game.awards import keys
from game.awards.keys import Reason
from game.awards.models import ClawbackSetting
from game.ledger.models import EntryKind
from game.ledger.service import post_entry
from game.notifications.models import NotificationKind
from game.notifications.service import queue_notification
from game.sql import fetch_all, fetch_one

CLAWBACK_SETTING_ID = 1


@dataclass(frozen=True, slots=True)
class Notice:
    """The notification an award queues: its kind and what the message says, in data."""

    kind: NotificationKind
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Award:
    customer_id: UUID
    points: int
    kind: EntryKind
    reason: Reason
    key: str  # from game/awards/keys.py
    text: str  # the ledger line the customer reads
    event_id: int | None = None
    notice: Notice | None = None
    # Engine rewards are recorded so that they can be withdrawn, and earned again under a fresh key.
    withdrawable: bool = False


@dataclass(frozen=True, slots=True)
class Granted:
    """What an award (or a withdrawal) did, for the live update after commit."""

    key: str
    reason: Reason
    points: int
    balance: int | None  # None: no ledger entry (an award worth no points)


async def grant(conn: BaseDBAsyncClient, award: Award) -> Granted:
    """Posts `award` inside the caller's transaction. A zero-point award posts no entry but still notifies."""
    key = award.key
    if award.withdrawable:
        key = await _fresh_key(conn, award)
    balance = None
    if award.points:
        posted = await post_entry(
            conn,
            customer_id=award.customer_id,
            delta=award.points,
            kind=award.kind,
            reason=award.text,
            award_key=key,
            event_id=award.event_id,
        )
        balance = posted.balance_after
    if award.notice is not None:
        payload = award.notice.payload | {"points": award.points}
        await queue_notification(conn, award.customer_id, key, award.notice.kind, payload)
    return Granted(key, award.reason, award.points, balance)


async def _fresh_key(conn: BaseDBAsyncClient, award: Award) -> str:
    """Records the grant; the n-th grant of one achievement (after n-1 withdrawals) gets the n-th key."""
    # Counted and recorded in one statement. The caller holds the customer's lock (process_event does), so
    # no other grant of this key can be counted meanwhile.
    numbered = keys.again_sql("$1", "COUNT(*)")
    row = await fetch_one(
        "INSERT INTO award_grant (key, base_key, customer_id, reason, points, granted_at) VALUES "
        f"((SELECT {numbered} FROM award_grant WHERE base_key = $2), $3, $4, $5, $6, $7) RETURNING key",
        award.key,
        award.key,
        award.key,
        award.customer_id,
        award.reason.value,
        award.points,
        datetime.now(UTC),
        conn=conn,
    )
    assert row is not None
    return str(row["key"])


@dataclass(frozen=True, slots=True)
class Held:
    key: str
    base_key: str
    points: int


async def held(conn: BaseDBAsyncClient, customer_id: UUID, reason: Reason) -> list[Held]:
    """The customer's grants of one reason that are not withdrawn, oldest first."""
    rows = await fetch_all(
        conn,
        "SELECT key, base_key, points FROM award_grant WHERE customer_id = $1 AND reason = $2 "
        "AND withdrawn_at IS NULL ORDER BY id",
        customer_id,
        reason.value,
    )
    return [Held(r["key"], r["base_key"], int(r["points"])) for r in rows]


async def withdraw(
    conn: BaseDBAsyncClient,
    customer_id: UUID,
    base_key: str,
    *,
    text: str,
    event_id: int,
    payload: dict[str, Any],
) -> Granted | None:
    """Takes back the held grant of `base_key`, once: None when nothing is held (never granted, or already
    withdrawn by a replay or another worker). The caller holds the customer's lock (process_event does).

    The reversal posts under `reversal:<grant key>` and takes the whole reward, or, when the programme stops
    clawbacks at zero, what the balance holds: the entry says exactly what was taken.
    """
    row = await fetch_one(
        "UPDATE award_grant SET withdrawn_at = $1 WHERE base_key = $2 AND customer_id = $3 "
        "AND withdrawn_at IS NULL RETURNING key, points",
        datetime.now(UTC),
        base_key,
        customer_id,
        conn=conn,
    )
    if row is None:
        return None
    key, points = keys.reversal(row["key"]), int(row["points"])
    taken = points if await _below_zero(conn) else min(points, max(await _balance(conn, customer_id), 0))
    balance = None
    if points:
        posted = await post_entry(
            conn,
            customer_id=customer_id,
            delta=-taken,
            kind=EntryKind.CLAWBACK,
            reason=text,
            award_key=key,
            event_id=event_id,
        )
        balance = posted.balance_after
    notice = payload | {"withdrawn": row["key"], "points": -taken}
    await queue_notification(conn, customer_id, key, NotificationKind.REWARD_WITHDRAWN, notice)
    return Granted(key, Reason.CLAWBACK, -taken, balance)


async def _balance(conn: BaseDBAsyncClient, customer_id: UUID) -> int:
    row = await fetch_one("SELECT points FROM balance WHERE customer_id = $1", customer_id, conn=conn)
    return int(row["points"]) if row else 0


async def _below_zero(conn: BaseDBAsyncClient | None = None) -> bool:
    row = await fetch_one(
        "SELECT below_zero FROM clawback_setting WHERE id = $1", CLAWBACK_SETTING_ID, conn=conn
    )
    return True if row is None else bool(row["below_zero"])


async def clawback_below_zero() -> bool:
    """The programme's policy: may a clawback take the balance below zero (the default), or stop at zero?"""
    return await _below_zero()


async def set_clawback_below_zero(below_zero: bool) -> bool:
    async with in_transaction() as conn:
        await ClawbackSetting.update_or_create(
            defaults={"below_zero": below_zero, "updated_at": datetime.now(UTC)},
            id=CLAWBACK_SETTING_ID,
            using_db=conn,
        )
    return below_zero
