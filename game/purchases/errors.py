"""Purchase and refund outcomes a till or e-shop may branch on."""

from __future__ import annotations

from enum import StrEnum


class PurchaseReason(StrEnum):
    UNKNOWN_PURCHASE = "UNKNOWN_PURCHASE"  # NOT_FOUND: no such order from this source for this customer
    REFUND_EXCEEDS_PURCHASE = "REFUND_EXCEEDS_PURCHASE"  # BAD_USER_INPUT: refunds would total more than paid
