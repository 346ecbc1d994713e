"""Every query of the referral domain.

The tree is an adjacency list walked with recursive CTEs (`WITH RECURSIVE`, the same text on PostgreSQL and
SQLite): the upline is one primary-key probe per level, the downline one `referrer_id` index range per level,
and both stop at the depth asked for, so deep and wide trees cost what is read, not the tree's size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from game.referrals.models import MemberStatus, QualificationStatus, ReferralMember, ReferralQualification
from game.sql import execute, fetch_all, fetch_one, placeholders

# The upline is read up to this many levels (a chain is a tree path; more is never shown or paid).
MAX_CHAIN = 100

UPLINE_SQL = """
WITH RECURSIVE up(customer_id, level) AS (
  SELECT referrer_id, 1 FROM referral_member WHERE customer_id = $1 AND referrer_id IS NOT NULL
  UNION ALL
  SELECT m.referrer_id, up.level + 1 FROM up JOIN referral_member m ON m.customer_id = up.customer_id
  WHERE m.referrer_id IS NOT NULL AND up.level < $2
)
SELECT up.level, up.customer_id, c.display_name, c.email, m.device_id, m.code
FROM up JOIN customer c ON c.id = up.customer_id JOIN referral_member m ON m.customer_id = up.customer_id
ORDER BY up.level
"""

DOWNLINE_COUNTS_SQL = """
WITH RECURSIVE down(customer_id, status, level) AS (
  SELECT customer_id, status, 1 FROM referral_member WHERE referrer_id = $1
  UNION ALL
  SELECT m.customer_id, m.status, down.level + 1
  FROM down JOIN referral_member m ON m.referrer_id = down.customer_id
  WHERE down.level < $2
)
SELECT level, status, COUNT(*) AS n FROM down GROUP BY level, status ORDER BY level
"""


async def upline(conn: BaseDBAsyncClient, customer_id: UUID, depth: int) -> list[dict[str, Any]]:
    """My referrer (level 1), theirs (level 2), ... up to `depth` levels."""
    return await fetch_all(conn, UPLINE_SQL, customer_id, depth)


async def downline_counts(conn: BaseDBAsyncClient, customer_id: UUID, depth: int) -> list[dict[str, Any]]:
    """How many referees, per level below me and status, down to `depth` levels."""
    return await fetch_all(conn, DOWNLINE_COUNTS_SQL, customer_id, depth)


async def member(conn: BaseDBAsyncClient, customer_id: UUID, *, lock: bool = False) -> ReferralMember | None:
    query = ReferralMember.filter(customer_id=customer_id).using_db(conn)
    if lock and conn.capabilities.dialect == "postgres":
        query = query.select_for_update()
    return await query.first()


async def code_and_levels(conn: BaseDBAsyncClient, customer_id: UUID) -> dict[str, Any] | None:
    """The customer's code and the configured levels (null when referrals are not configured)."""
    return await fetch_one(
        "SELECT m.code, s.levels FROM referral_member m LEFT JOIN referral_setting s ON s.id = 1 "
        "WHERE m.customer_id = $1",
        customer_id,
        conn=conn,
    )


async def member_by_code(conn: BaseDBAsyncClient, code: str) -> ReferralMember | None:
    return await ReferralMember.filter(code=code).using_db(conn).first()


async def code_taken(conn: BaseDBAsyncClient, code: str) -> bool:
    return await ReferralMember.filter(code=code).using_db(conn).exists()


async def lock_tree(conn: BaseDBAsyncClient) -> None:
    """Serialises changes to the tree's shape: two customers applying each other's codes at once would
    otherwise each pass the cycle check. Applying a code is rare; paying and reading never take this lock."""
    if conn.capabilities.dialect == "postgres":
        await execute(conn, "SELECT pg_advisory_xact_lock(7261001)")


async def lock_customer(conn: BaseDBAsyncClient, customer_id: UUID) -> bool:
    """The customer's row, as process_event locks it: the referee's events and a marketer's review take
    turns. False when the customer is gone."""
    lock = " FOR NO KEY UPDATE" if conn.capabilities.dialect == "postgres" else ""
    return await fetch_one(f"SELECT id FROM customer WHERE id = $1{lock}", customer_id, conn=conn) is not None


async def lock_balance(conn: BaseDBAsyncClient, customer_id: UUID) -> None:
    """A balance row, as post_entry would lock it: taken early for the direct referrer so that counting their
    month's qualifications and paying them is one step under concurrency."""
    if conn.capabilities.dialect == "postgres":
        await execute(conn, "SELECT id FROM balance WHERE customer_id = $1 FOR NO KEY UPDATE", customer_id)


async def qualifying_member(conn: BaseDBAsyncClient, customer_id: UUID) -> dict[str, Any] | None:
    """The referee's pending membership and the active settings, or None: one query per purchase event."""
    return await fetch_one(
        "SELECT m.referrer_id, m.device_id, c.email, s.min_purchase_cents, s.referee_points, s.levels, "
        "s.monthly_cap_per_referrer, s.velocity_limit FROM referral_member m "
        "JOIN customer c ON c.id = m.customer_id CROSS JOIN referral_setting s "
        "WHERE m.customer_id = $1 AND m.referrer_id IS NOT NULL AND m.status = $2 AND s.active",
        customer_id,
        MemberStatus.PENDING.value,
        conn=conn,
    )


async def min_purchase_cents(conn: BaseDBAsyncClient) -> int:
    row = await fetch_one("SELECT min_purchase_cents FROM referral_setting", conn=conn)
    return int(row["min_purchase_cents"]) if row else 0


async def remember_fingerprint(conn: BaseDBAsyncClient, customer_id: UUID, fingerprint: str) -> None:
    await execute(
        conn,
        "INSERT INTO referral_fingerprint (customer_id, fingerprint) VALUES ($1, $2) "
        "ON CONFLICT (customer_id, fingerprint) DO NOTHING",
        customer_id,
        fingerprint,
    )


async def shared_fingerprints(conn: BaseDBAsyncClient, referee_id: UUID, others: list[UUID]) -> set[str]:
    """The customers among `others` who paid with a fingerprint the referee also paid with."""
    if not others:
        return set()
    rows = await fetch_all(
        conn,
        "SELECT DISTINCT o.customer_id FROM referral_fingerprint r JOIN referral_fingerprint o "
        "ON o.fingerprint = r.fingerprint WHERE r.customer_id = $1 "
        f"AND o.customer_id IN ({placeholders(len(others), first=2)})",
        referee_id,
        *others,
    )
    return {str(r["customer_id"]) for r in rows}


async def paid_since(conn: BaseDBAsyncClient, referrer_id: UUID, since: datetime) -> int:
    paid = (QualificationStatus.PAID, QualificationStatus.APPROVED)
    return await (
        ReferralQualification.filter(referrer_id=referrer_id, status__in=paid, created_at__gte=since)
        .using_db(conn)
        .count()
    )


async def referred_since(conn: BaseDBAsyncClient, referrer_id: UUID, since: datetime) -> int:
    return await ReferralMember.filter(referrer_id=referrer_id, referred_at__gte=since).using_db(conn).count()


async def referees(conn: BaseDBAsyncClient, referrer_id: UUID, limit: int) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        "SELECT c.display_name, m.status, m.referred_at FROM referral_member m "
        "JOIN customer c ON c.id = m.customer_id WHERE m.referrer_id = $1 "
        "ORDER BY m.referred_at DESC, m.id DESC LIMIT $2",
        referrer_id,
        limit,
    )


async def points_from_referrals(conn: BaseDBAsyncClient, customer_id: UUID) -> int:
    """What the customer holds of referral rewards paid for others' qualifications (not their own bonus)."""
    row = await fetch_one(
        "SELECT COALESCE(SUM(points), 0) AS total FROM award_grant WHERE customer_id = $1 AND reason = $2 "
        "AND withdrawn_at IS NULL AND base_key NOT LIKE $3",
        customer_id,
        "referral",
        f"referral:{customer_id}:%",
        conn=conn,
    )
    return int(row["total"]) if row else 0


async def top_referrers(conn: BaseDBAsyncClient, limit: int) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        "SELECT t.referrer_id, c.display_name, t.referred, t.qualified FROM ("
        "  SELECT referrer_id, COUNT(*) AS referred,"
        "  SUM(CASE WHEN status = $1 THEN 1 ELSE 0 END) AS qualified"
        "  FROM referral_member WHERE referrer_id IS NOT NULL GROUP BY referrer_id"
        ") t JOIN customer c ON c.id = t.referrer_id ORDER BY t.qualified DESC, t.referred DESC, c.id "
        "LIMIT $2",
        MemberStatus.QUALIFIED.value,
        limit,
    )
