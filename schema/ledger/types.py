from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum

import strawberry

from game.errors import bad_input
from game.ledger.models import EntryKind
from game.ledger.models import LedgerEntry as LedgerEntryModel
from game.ledger.service import Page
from schema.ids import parse_int


@strawberry.enum(description="Why points moved.")
class LedgerEntryKind(Enum):
    EARN = EntryKind.EARN.value
    REFUND = EntryKind.REFUND.value
    BONUS = EntryKind.BONUS.value
    ADJUSTMENT = EntryKind.ADJUSTMENT.value
    REDEMPTION = EntryKind.REDEMPTION.value


@strawberry.type(description="The customer's points.")
class Points:
    balance: int = strawberry.field(description="Current balance: the sum of every ledger entry.")


@strawberry.type(description="One movement of points. Entries are never changed or removed.")
class LedgerEntry:
    id: strawberry.ID
    delta: int = strawberry.field(description="Points added (positive) or taken (negative).")
    balance_after: int = strawberry.field(description="The balance right after this entry.")
    kind: LedgerEntryKind
    reason: str = strawberry.field(description="A human-readable reason, e.g. 'Purchase A-1001'.")
    created_at: datetime

    @classmethod
    def from_model(cls, entry: LedgerEntryModel) -> LedgerEntry:
        return cls(
            id=strawberry.ID(str(entry.id)),
            delta=entry.delta,
            balance_after=entry.balance_after,
            kind=LedgerEntryKind(entry.kind.value if isinstance(entry.kind, EntryKind) else entry.kind),
            reason=entry.reason,
            created_at=entry.created_at,
        )


@strawberry.type
class LedgerEdge:
    node: LedgerEntry
    cursor: str


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="The customer's ledger, newest entry first.")
class LedgerConnection:
    edges: list[LedgerEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page) -> LedgerConnection:
        edges = [LedgerEdge(node=LedgerEntry.from_model(e), cursor=encode_cursor(e.id)) for e in page.entries]
        return cls(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None),
        )


@strawberry.type(description="A change of the signed-in customer's balance, pushed live.")
class PointsChange:
    balance: int
    delta: int
    reason: str


_CURSOR_PREFIX = "ledger:"
MAX_ENTRY_ID = 2**63 - 1


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{entry_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError:  # not base64, not UTF-8, or not ASCII to begin with
        text = ""
    # Entry ids are 64-bit in the database: a larger number would fail there, not here.
    entry_id = (
        parse_int(text.removeprefix(_CURSOR_PREFIX), MAX_ENTRY_ID)
        if text.startswith(_CURSOR_PREFIX)
        else None
    )
    if entry_id is None:
        raise bad_input("after is not a cursor returned by this API", "after")
    return entry_id
