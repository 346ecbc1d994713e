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


def refused(code: ErrorCode, reason: RewardReason, message: str) -> DomainError:
    """A refusal clients branch on: the reason leads the message ("OUT_OF_STOCK: ...") and rides on the
    error as `reason`, which schema/ puts in `extensions.reason` once DomainError carries one (it is being
    added on another branch; then this becomes `DomainError(code, message, reason=reason)`)."""
    error = DomainError(code, f"{reason.value}: {message}")
    setattr(error, "reason", reason)  # noqa: B010 - not a declared attribute of DomainError on this branch
    return error
