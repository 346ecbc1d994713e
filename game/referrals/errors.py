"""Referral outcomes a client may branch on (extensions.reason)."""

from __future__ import annotations

from enum import StrEnum


class ReferralReason(StrEnum):
    SELF_REFERRAL = "SELF_REFERRAL"  # a customer cannot refer themself
    CYCLE = "CYCLE"  # the code's owner is below the customer in the tree
    ALREADY_REFERRED = "ALREADY_REFERRED"  # the referrer is set once
    TOO_LATE = "TOO_LATE"  # applyWithinDays after sign-up have passed
    UNKNOWN_CODE = "UNKNOWN_CODE"  # no customer has this code
    UNKNOWN_HELD_REWARD = "UNKNOWN_HELD_REWARD"  # no held referral reward with this id
    ALREADY_DECIDED = "ALREADY_DECIDED"  # a held reward is approved or rejected once
