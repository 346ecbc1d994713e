"""Outcomes of recording an event (a purchase, a refund, an eco action, a tracked event)."""

from __future__ import annotations

from enum import StrEnum


class EventReason(StrEnum):
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"  # CONFLICT: the key was used for a different request
    TOO_MANY_EVENTS = "TOO_MANY_EVENTS"  # RATE_LIMITED: trackEvent's limit per customer, type and window
