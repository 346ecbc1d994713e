"""Eco action outcomes a client may branch on."""

from __future__ import annotations

from enum import StrEnum


class EcoReason(StrEnum):
    UNKNOWN_ACTION = "UNKNOWN_ACTION"  # BAD_USER_INPUT: no active eco action with this code
    DAILY_CAP_REACHED = "DAILY_CAP_REACHED"  # RATE_LIMITED: the customer declared as many as a day allows
