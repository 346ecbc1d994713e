"""Earn rule outcomes a till or e-shop may branch on."""

from __future__ import annotations

from enum import StrEnum


class EarnReason(StrEnum):
    CURRENCY_NOT_EARNED = "CURRENCY_NOT_EARNED"  # BAD_USER_INPUT: no active earn rule for this currency
