"""Referral outcomes, reserved for the referrals to come."""

from __future__ import annotations

from enum import StrEnum


class ReferralReason(StrEnum):
    SELF_REFERRAL = "SELF_REFERRAL"  # a customer cannot refer themself
