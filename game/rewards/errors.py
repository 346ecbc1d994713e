"""Reward outcomes a client may branch on: why a redemption, a cancellation or a coupon was refused."""

from __future__ import annotations

from enum import StrEnum

from game.errors import DomainError, ErrorCode


class RewardReason(StrEnum):
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"  # the available balance is below the reward's price
    OUT_OF_STOCK = "OUT_OF_STOCK"  # no unit of the reward is left
    LIMIT_REACHED = "LIMIT_REACHED"  # the customer already holds as many as the reward allows per customer
    NOT_ELIGIBLE = "NOT_ELIGIBLE"  # the reward's audience tags do not include this customer
    NOT_AVAILABLE = "NOT_AVAILABLE"  # not live: a draft, archived, before its start or after its end
    COUPON_USED = (
        "COUPON_USED"  # the coupon was consumed at a till: it can be neither used again nor cancelled
    )
    COUPON_EXPIRED = "COUPON_EXPIRED"  # past the coupon's validity
    CANCELLED = "CANCELLED"  # the redemption was cancelled: its coupon is void
    CANCEL_WINDOW_OVER = "CANCEL_WINDOW_OVER"  # past the reward's cancel window
    # NOT_FOUND
    UNKNOWN_REWARD = "UNKNOWN_REWARD"  # no reward with this id
    UNKNOWN_REDEMPTION = "UNKNOWN_REDEMPTION"  # no redemption of this customer with this id
    UNKNOWN_COUPON = "UNKNOWN_COUPON"  # no coupon with this code


def refused(code: ErrorCode, reason: RewardReason, message: str) -> DomainError:
    """A refusal clients branch on, by `extensions.reason`."""
    return DomainError(code, message, reason=reason)
