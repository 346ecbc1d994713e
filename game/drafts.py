"""Definitions marketers edit (challenges, badges): only drafts change, so that customers' progress is never
measured against a moving rule and an earned level keeps meaning what it meant."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.transactions import in_transaction

from game.errors import DomainError, ErrorCode, not_found

M = TypeVar("M", bound=Model)


async def replace_draft(
    model: type[M], row_id: int, fields: dict[str, Any], what: str, *, unknown: StrEnum, not_draft: StrEnum
) -> M:
    """`unknown` and `not_draft` are the domain's reasons for a missing row and for one that is no draft."""
    async with in_transaction() as conn:
        row = await model.select_for_update().using_db(conn).get_or_none(id=row_id)
        if row is None:
            raise not_found(f"no {what} with this id", unknown)
        status = getattr(row, "status")  # noqa: B009 -- every editable definition has one
        if status != "draft":
            raise DomainError(
                ErrorCode.CONFLICT, f"only drafts can be edited; this one is {status}", reason=not_draft
            )
        row.update_from_dict(fields)
        await row.save(using_db=conn)
    return row
