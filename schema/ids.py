"""IDs the API takes: checked before they reach the database."""

from __future__ import annotations

from enum import StrEnum

import strawberry

from game.badges.errors import BadgeReason
from game.errors import not_found

MAX_ID = 2**31 - 1


def int_id(value: strawberry.ID, what: str, unknown: StrEnum) -> int:
    # Ids are 32-bit in the database; anything else cannot name a row.
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise not_found(f"no {what} with this id", unknown)
    return int(value)


def badge_id(value: strawberry.ID) -> int:
    return int_id(value, "badge", BadgeReason.UNKNOWN_BADGE)


def reference(value: strawberry.ID) -> int:
    """An id given inside an input: one that cannot exist becomes 0, which the domain reports as bad input
    on that field rather than as a missing object."""
    return int(value) if value.isdigit() and 1 <= int(value) <= MAX_ID else 0
