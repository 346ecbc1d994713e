"""Challenge outcomes a marketer's tool may branch on."""

from __future__ import annotations

from enum import StrEnum


class ChallengeReason(StrEnum):
    UNKNOWN_CHALLENGE = "UNKNOWN_CHALLENGE"  # NOT_FOUND
    # CONFLICT
    NOT_DRAFT = "NOT_DRAFT"  # only drafts can be edited
    ALREADY_PUBLISHED = "ALREADY_PUBLISHED"  # publishing a challenge that is active
    NOT_ACTIVE = "NOT_ACTIVE"  # pausing a challenge that is a draft or paused
    ARCHIVED = "ARCHIVED"  # an archived challenge is never published, paused or archived again
    REWARD_BADGE_NOT_PUBLISHED = "REWARD_BADGE_NOT_PUBLISHED"  # publish its reward badge first
    # BAD_USER_INPUT, field rewardBadgeId
    UNKNOWN_REWARD_BADGE = "UNKNOWN_REWARD_BADGE"  # no such badge, or it is archived
    REWARD_BADGE_HAS_RULE = "REWARD_BADGE_HAS_RULE"  # the badge is earned by its own rule, not by challenges
