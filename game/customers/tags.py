"""Customer tags: labels marketers or the CRM put on customers, that challenges can target."""

from __future__ import annotations

import re
from uuid import UUID

from game.customers.errors import CustomerReason
from game.customers.models import Customer
from game.errors import bad_input, not_found

MAX_TAGS = 50
_TAG = re.compile(r"^[a-z0-9][a-z0-9_:-]{0,39}$")


def validate_tags(tags: list[str], field: str = "tags") -> list[str]:
    if len(tags) > MAX_TAGS:
        raise bad_input(f"{field}: at most {MAX_TAGS} tags", field)
    for tag in tags:
        if not _TAG.match(tag):
            raise bad_input(f"{field}: {tag!r} is not a tag (a-z, 0-9, '_', ':', '-'; at most 40)", field)
    return sorted(set(tags))


async def set_tags(customer_id: UUID, tags: list[str]) -> list[str]:
    tags = validate_tags(tags)
    if not await Customer.filter(id=customer_id).update(tags=tags):
        raise not_found("no customer with this id", CustomerReason.UNKNOWN_CUSTOMER)
    return tags


def in_audience(audience: list[str], tags: list[str]) -> bool:
    return not audience or not set(audience).isdisjoint(tags)
