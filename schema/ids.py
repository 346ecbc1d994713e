"""IDs the API takes: checked before they reach the database."""

from __future__ import annotations

from enum import StrEnum

import strawberry

from game.badges.errors import BadgeReason
from game.errors import not_found

MAX_ID = 2**31 - 1


def parse_int(value: str, high: int) -> int | None:
    """1..high written in ASCII digits, else None. str.isdigit() also accepts '²' and other scripts'
    digits, which int() refuses or reads; int() refuses more than 4,300 digits: the length comes first."""
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(high)):
        return None
    number = int(value)
    return number if 1 <= number <= high else None


def int_id(value: strawberry.ID, what: str, unknown: StrEnum) -> int:
    # Ids are 32-bit in the database; anything else cannot name a row.
    number = parse_int(value, MAX_ID)
    if number is None:
        raise not_found(f"no {what} with this id", unknown)
    return number


def badge_id(value: strawberry.ID) -> int:
    return int_id(value, "badge", BadgeReason.UNKNOWN_BADGE)


def reference(value: strawberry.ID) -> int:
    """An id given inside an input: one that cannot exist becomes 0, which the domain reports as bad input
    on that field rather than as a missing object."""
    return parse_int(value, MAX_ID) or 0
