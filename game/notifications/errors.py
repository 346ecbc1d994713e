"""Notification outcomes a client may branch on."""

from __future__ import annotations

from enum import StrEnum


class NotificationReason(StrEnum):
    UNKNOWN_CAMPAIGN = "UNKNOWN_CAMPAIGN"  # NOT_FOUND
    # BAD_USER_INPUT, field endpoint
    ENDPOINT_NOT_ALLOWED = "ENDPOINT_NOT_ALLOWED"  # not https (or listed loopback) to an allowed push service
    TOO_MANY_DEVICES = "TOO_MANY_DEVICES"  # the customer has as many devices as allowed
