"""Reward outcomes, reserved for the rewards catalogue to come."""

from __future__ import annotations

from enum import StrEnum


class RewardReason(StrEnum):
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"  # the balance is below the reward's price
    OUT_OF_STOCK = "OUT_OF_STOCK"  # no unit of the reward is left
