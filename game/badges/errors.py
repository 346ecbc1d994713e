"""Badge outcomes a marketer's tool may branch on."""

from __future__ import annotations

from enum import StrEnum


class BadgeReason(StrEnum):
    UNKNOWN_BADGE = "UNKNOWN_BADGE"  # NOT_FOUND
    # CONFLICT
    KEY_TAKEN = "KEY_TAKEN"  # another badge has this key
    NOT_DRAFT = "NOT_DRAFT"  # only drafts can be edited
    ALREADY_PUBLISHED = "ALREADY_PUBLISHED"  # publishing a badge that is active
    ARCHIVED = "ARCHIVED"  # an archived badge is never published or archived again
