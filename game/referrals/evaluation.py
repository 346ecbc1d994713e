"""When a referral qualifies, what it pays, when it is held for review, and when it is clawed back: the
engine's side (one reaction), and a marketer's approval or rejection of what was held.

Qualification is the referee's first purchase at or above `min_purchase_cents`, as it counts now (earlier
refunds taken off). It pays the referee and each configured level of their upline through the award path,
under `referral:<referee>:<level>`, granted as withdrawable: a replay or a second worker pays once, and a
requalification after a clawback pays under a fresh key.

Lock order, under process_event's lock on the referee's customer row: the referee's balance, then the
direct referrer's balance (so that counting their month's paid referrals and paying them is one step), then
the levels above in ascending order as their entries are posted. Every worker locks balances from a referee up
its chain, so two referees of one referrer take turns on the referrer's balance instead of deadlocking, and a
referrer's own event, which locks only its balance and then its own upline, fits the same order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from game.awards import keys
from game.awards.keys import Reason
from game.awards.service import Award, grant, withdraw
from game.errors import not_found
from game.events.reactions import Reacted, Situation
from game.events.service import NewEvent, payload_hash, record_withdrawal
from game.leaderboards.engine import count_posted
from game.ledger.live import granted_updates
from game.ledger.models import EntryKind
from game.referrals import repository as repo
from game.referrals.errors import ReferralReason
from game.referrals.fraud import HoldReason, identity
from game.referrals.models import MemberStatus, QualificationStatus, ReferralMember, ReferralQualification
from game.referrals.service import already_decided
from game.sql import execute, fetch_one, insert

QUALIFIED_EVENT = "referral_qualified"
QUALIFIED_SOURCE = "referrals"
# Recorded for the referrer when the qualification is clawed back: it withdraws the referral_qualified event.
WITHDRAWN_EVENT = "referral_withdrawn"
PAID = (QualificationStatus.PAID, QualificationStatus.APPROVED)


async def react(s: Situation) -> Reacted:
    """The referrals reaction: a purchase may qualify its customer's referral; a refund may claw it back."""
    if s.event.type == "purchase":
        fingerprint = s.event.payload.get("payment_fingerprint")
        if fingerprint:
            await repo.remember_fingerprint(s.conn, s.event.customer_id, str(fingerprint))
        if s.facts is not None and s.rules.referrals_active:
            return await _qualify(s, s.facts)
    if s.refunded is not None:
        return await _claw_back(s)
    return Reacted()


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def _qualify(s: Situation, facts: dict[str, Any]) -> Reacted:
    conn, referee = s.conn, s.event.customer_id
    pending = await repo.qualifying_member(conn, referee)
    if pending is None or int(facts.get("amount_cents") or 0) < int(pending["min_purchase_cents"]):
        return Reacted()
    levels_json = pending["levels"]
    levels = {
        int(lv["level"]): int(lv["points"])
        for lv in (json.loads(levels_json) if isinstance(levels_json, str) else levels_json)
    }
    depth = max(levels, default=0)
    upline = await repo.upline(conn, referee, max(depth, 1))
    referrer_id = UUID(str(pending["referrer_id"]))
    rewards = [{"customer_id": str(referee), "level": 0, "points": int(pending["referee_points"])}]
    rewards += [
        {
            "customer_id": str(link["customer_id"]),
            "level": int(link["level"]),
            "points": levels[int(link["level"])],
        }
        for link in upline
        if int(link["level"]) in levels
    ]
    await repo.lock_balance(conn, referee)
    await repo.lock_balance(conn, referrer_id)
    now = datetime.now(UTC)
    signals = await _signals(conn, referee, pending, upline, referrer_id, now)
    status = QualificationStatus.HELD if signals else QualificationStatus.PAID
    # Raw SQL on this path, as in process_event: the ORM's query building costs more CPU than the queries
    # (times are written as the ORM writes them, on SQLite too, so its filters compare them).
    await insert(
        conn,
        "referral_qualification",
        {
            "referee_id": referee,
            "referrer_id": referrer_id,
            "event_id": s.event.id,
            "rewards": rewards,
            "signals": signals,
            "status": status.value,
            "created_at": now,
        },
    )
    member_status = MemberStatus.HELD if signals else MemberStatus.QUALIFIED
    await execute(
        conn,
        "UPDATE referral_member SET status = $1, qualifying_event_id = $2 WHERE customer_id = $3",
        member_status.value,
        s.event.id,
        referee,
    )
    if signals:
        return Reacted()
    return await _pay(conn, Payout(referee, referrer_id, s.event.id, rewards))


async def _signals(
    conn: BaseDBAsyncClient,
    referee: UUID,
    pending: dict[str, Any],
    upline: list[dict[str, Any]],
    referrer_id: UUID,
    now: datetime,
) -> list[dict[str, Any]]:
    """Why this qualification must wait for a marketer; empty when it may pay at once."""
    signals: list[dict[str, Any]] = []
    mine = identity(str(pending["email"]))
    device = pending["device_id"]
    for link in upline:
        level = int(link["level"])
        if identity(str(link["email"])) == mine:
            signals.append(
                {"rule": HoldReason.SAME_EMAIL.value, "detail": f"same e-mail identity as level {level}"}
            )
        if device and link["device_id"] == device:
            signals.append(
                {"rule": HoldReason.SAME_DEVICE.value, "detail": f"same device id as level {level}"}
            )
    shared = await repo.shared_fingerprints(
        conn, referee, [UUID(str(link["customer_id"])) for link in upline]
    )
    for link in upline:
        if str(link["customer_id"]) in shared:
            detail = f"same payment fingerprint as level {int(link['level'])}"
            signals.append({"rule": HoldReason.SAME_PAYMENT.value, "detail": detail})
    cap = pending["monthly_cap_per_referrer"]
    if cap is not None:
        paid = await repo.paid_since(conn, referrer_id, _month_start(now))
        if paid >= int(cap):
            detail = f"the referrer was already paid for {paid} referrals this month (cap {cap})"
            signals.append({"rule": HoldReason.MONTHLY_CAP.value, "detail": detail})
    velocity = pending["velocity_limit"]
    if velocity is not None:
        recent = await repo.referred_since(conn, referrer_id, now - timedelta(days=7))
        if recent > int(velocity):
            detail = f"the referrer signed up {recent} referees in 7 days (limit {velocity})"
            signals.append({"rule": HoldReason.VELOCITY.value, "detail": detail})
    return signals


@dataclass(frozen=True, slots=True)
class Payout:
    referee_id: UUID
    referrer_id: UUID
    event_id: int  # the qualifying purchase
    rewards: list[dict[str, Any]]

    @classmethod
    def of(cls, q: ReferralQualification) -> Payout:
        return cls(q.referee_id, q.referrer_id, q.event_id, q.rewards)


async def _pay(conn: BaseDBAsyncClient, qualification: Payout) -> Reacted:
    """Grants the qualification's rewards, referee first then up the chain, and records the
    `referral_qualified` event of the direct referrer (processed after commit)."""
    reacted = Reacted()
    referee = qualification.referee_id
    for reward in sorted(qualification.rewards, key=lambda r: int(r["level"])):
        if not reward["points"]:
            continue
        customer_id, level = UUID(str(reward["customer_id"])), int(reward["level"])
        text = "Referral bonus: welcome" if level == 0 else f"Referral reward, level {level}"
        granted = await grant(
            conn,
            Award(
                customer_id=customer_id,
                points=int(reward["points"]),
                kind=EntryKind.BONUS,
                reason=Reason.REFERRAL,
                key=keys.referral(referee, level),
                text=text,
                event_id=qualification.event_id,
                withdrawable=True,
            ),
        )
        reacted.add(Reacted([granted], granted_updates(customer_id, [granted])))
    now = datetime.now(UTC)
    # No "attributes": the platform records it, so its facts are verified (game/rules/facts.py).
    payload = {"referee_id": str(referee), "level": 1}
    event_id = await insert(
        conn,
        "event",
        {
            "customer_id": qualification.referrer_id,
            "type": QUALIFIED_EVENT,
            "source": QUALIFIED_SOURCE,
            "idempotency_key": keys.referral_qualified_event(referee, qualification.event_id),
            "payload": payload,
            "payload_hash": payload_hash(payload),
            "occurred_at": now,
            "recorded_at": now,
        },
    )
    reacted.events.append(event_id)
    return reacted


async def _claw_back(s: Situation) -> Reacted:
    """A refund of the qualifying purchase, in full or below the minimum, reverses every reward it paid (or
    voids its hold), and the referee may qualify again with a later purchase."""
    assert s.refunded is not None
    conn, referee, purchase = s.conn, s.event.customer_id, s.refunded.event
    qualification = (
        await ReferralQualification.filter(referee_id=referee, event_id=purchase.id).using_db(conn).first()
    )
    if qualification is None or qualification.status not in (*PAID, QualificationStatus.HELD):
        return Reacted()
    remaining = s.refunded.remaining
    minimum = await repo.min_purchase_cents(conn)
    if remaining is not None and int(remaining.get("amount_cents") or 0) >= minimum:
        return Reacted()
    reacted = Reacted()
    if qualification.status in PAID:
        for reward in sorted(qualification.rewards, key=lambda r: int(r["level"])):
            customer_id, level = UUID(str(reward["customer_id"])), int(reward["level"])
            # withdraw reads the balance (a stop-at-zero policy takes at most what it holds): lock it first,
            # up the chain in level order as everywhere else, since only the referee's row is ours.
            await repo.lock_balance(conn, customer_id)
            withdrawn = await withdraw(
                conn,
                customer_id,
                keys.referral(referee, level),
                text="Referral reward taken back: its purchase was refunded",
                event_id=s.event.id,
                payload={"reason": Reason.REFERRAL.value, "level": level},
            )
            if withdrawn is not None:
                reacted.add(Reacted([withdrawn], granted_updates(customer_id, [withdrawn])))
        reacted.events += await _withdraw_qualified_event(conn, qualification, s.event.id)
        status = QualificationStatus.WITHDRAWN
    else:
        status = QualificationStatus.VOIDED
    await (
        ReferralQualification.filter(id=qualification.id)
        .using_db(conn)
        .update(status=status, decided_at=datetime.now(UTC))
    )
    await (
        ReferralMember.filter(customer_id=referee)
        .using_db(conn)
        .update(status=MemberStatus.PENDING, qualifying_event_id=None)
    )
    return reacted


async def _withdraw_qualified_event(
    conn: BaseDBAsyncClient, qualification: ReferralQualification, refund_event_id: int
) -> list[int]:
    """The referrer's `referral_qualified` event no longer counts: a `referral_withdrawn` event of theirs
    withdraws it (game/events/models.py EventWithdrawal), so that a "refer 3 friends" challenge or badge it
    completed is taken back when the engine processes it, under the referrer's own lock. Returns the new
    event's id, to process after commit."""
    key = keys.referral_qualified_event(qualification.referee_id, qualification.event_id)
    qualified = await fetch_one(
        "SELECT id FROM event WHERE source = $1 AND idempotency_key = $2", QUALIFIED_SOURCE, key, conn=conn
    )
    if qualified is None:
        return []
    withdrawn = NewEvent(
        qualification.referrer_id,
        WITHDRAWN_EVENT,
        QUALIFIED_SOURCE,
        f"referral_withdrawn:{qualification.referee_id}:{qualification.event_id}",
        {"referee_id": str(qualification.referee_id), "refund_event_id": refund_event_id},
        datetime.now(UTC),
    )
    return [await record_withdrawal(conn, int(qualified["id"]), withdrawn)]


@dataclass(frozen=True, slots=True)
class Decided:
    qualification: ReferralQualification
    reacted: Reacted


async def decide(qualification_id: int, approve: bool, tz: ZoneInfo, note: str | None = None) -> Decided:
    """A marketer's review of a held qualification, once: approval pays through the award path (and records
    the referral_qualified event), rejection is final for this referee. The rewards count on the boards now,
    in the season of the qualifying purchase (game/leaderboards/truth.py)."""
    async with in_transaction() as conn:
        found = await ReferralQualification.filter(id=qualification_id).using_db(conn).first()
        if found is None:
            raise not_found("no held referral reward with this id", ReferralReason.UNKNOWN_HELD_REWARD)
        # The referee's row first, as process_event takes it: a refund being processed waits, or we do.
        await repo.lock_customer(conn, found.referee_id)
        status = QualificationStatus.APPROVED if approve else QualificationStatus.REJECTED
        changed = (
            await ReferralQualification.filter(id=qualification_id, status=QualificationStatus.HELD)
            .using_db(conn)
            .update(status=status, decided_at=datetime.now(UTC), decision_note=note)
        )
        if not changed:
            current = await ReferralQualification.filter(id=qualification_id).using_db(conn).first()
            raise already_decided(current.status if current else found.status)
        member_status = MemberStatus.QUALIFIED if approve else MemberStatus.REJECTED
        await ReferralMember.filter(customer_id=found.referee_id).using_db(conn).update(status=member_status)
        qualification = await ReferralQualification.filter(id=qualification_id).using_db(conn).get()
        reacted = Reacted()
        if approve:
            await repo.lock_balance(conn, found.referee_id)
            reacted = await _pay(conn, Payout.of(qualification))
            reacted.standings += await count_posted(conn, [award.key for award in reacted.awards], tz)
    return Decided(qualification, reacted)
