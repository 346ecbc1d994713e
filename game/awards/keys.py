"""Every award key and reason, built here and nowhere else.

An award key names what was earned, once: the ledger's unique `award_key` and the notification outbox's
unique `key` both hold it, so a replayed request or a second worker cannot pay twice. A reversal's key is
derived from the key of the award it takes back, so each award is reversed at most once.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID


class Reason(StrEnum):
    """Why points moved, as live updates and notifications tell the customer."""

    PURCHASE = "earn"
    ECO_BONUS = "eco_bonus"
    REFUND = "refund"
    ECO_ACTION = "eco"
    CHALLENGE = "challenge"
    BADGE = "badge"
    STREAK = "streak"
    CLAWBACK = "clawback"
    LEADERBOARD_PRIZE = "leaderboard"
    REFERRAL = "referral"
    REDEMPTION = "redemption"
    EXPIRY = "expiry"


def purchase(source: str, order_id: str) -> str:
    return f"purchase:{source}:{order_id}"


def eco_bonus(source: str, order_id: str) -> str:
    # A prefix, not a suffix (an order id may contain ':'), as long as "purchase:" so that any purchase
    # whose key fits the award_key column has an eco key that fits too.
    return f"ecobonus:{source}:{order_id}"


def refund(source: str, refund_id: str) -> str:
    return f"refund:{source}:{refund_id}"


def eco_action(source: str, idempotency_key: str) -> str:
    return f"eco:{source}:{idempotency_key}"


def challenge(challenge_id: int, customer_id: UUID, period: str, completion: int) -> str:
    """The `completion`-th completion of a challenge in one period (the first has no number)."""
    key = f"challenge:{challenge_id}:{customer_id}:{period}"
    return key if completion == 1 else f"{key}:{completion}"


def badge(badge_id: int, customer_id: UUID, level: int) -> str:
    return f"badge:{badge_id}:{customer_id}:{level}"


def streak(customer_id: UUID, run: str, length: int) -> str:
    return f"streak:{customer_id}:{run}:{length}"


def streak_length(key: str) -> int:
    """The milestone length a streak award key names."""
    return int(key.rsplit(":", 1)[1])


def leaderboard_prize(board_key: str, season: str, customer_id: UUID) -> str:
    """A board's prize for one season: one per customer and season, whatever their rank."""
    return f"leaderboard:{board_key}:{season}:{customer_id}"


def referral(referee_id: UUID, level: int) -> str:
    """A referee's qualification reward: level 0 is the referee's own, level n the n-th referrer up its chain.
    Granted as withdrawable, so a requalification after a clawback pays under `again(key, n)`."""
    return f"referral:{referee_id}:{level}"


def referral_qualified_event(referee_id: UUID, purchase_event_id: int) -> str:
    """The idempotency key of the `referral_qualified` event a qualification records for the referrer."""
    return f"referral_qualified:{referee_id}:{purchase_event_id}"


def again(key: str, times: int) -> str:
    """The key of an award earned for the `times`-th time, after the earlier ones were withdrawn."""
    return key if times == 1 else f"{key}#{times}"


def again_sql(key: str, earlier: str) -> str:
    """`again` as an SQL expression, for numbering a grant in the statement that records it: `key` and
    `earlier` (how many grants of the key there were) are SQL."""
    return f"{key} || CASE WHEN {earlier} = 0 THEN '' ELSE '#' || CAST({earlier} + 1 AS TEXT) END"


def redemption(customer_id: UUID, idempotency_key: str) -> str:
    return f"redemption:{customer_id}:{idempotency_key}"


def expiry(customer_id: UUID, day: str) -> str:
    """The points of a customer that expired on one day (the job runs daily; a rerun finds nothing left)."""
    return f"expiry:{customer_id}:{day}"


def expiry_notice(customer_id: UUID, day: str) -> str:
    return f"expiring:{customer_id}:{day}"


def reversal(key: str) -> str:
    return f"reversal:{key}"
