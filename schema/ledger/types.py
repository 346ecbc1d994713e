from __future__ import annotations

import base64
from datetime import date as date_
from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry

from game.awards.keys import Reason
from game.errors import bad_input
from game.ledger.models import EntryKind
from game.ledger.models import LedgerEntry as LedgerEntryModel
from game.ledger.service import Page
from game.points.service import expiring_soon, pending_of
from schema.ids import parse_int


@strawberry.enum(description="Why points moved.")
class LedgerEntryKind(Enum):
    EARN = strawberry.enum_value(
        EntryKind.EARN.value, description="A purchase earned points at its currency's earn rule."
    )
    REFUND = strawberry.enum_value(
        EntryKind.REFUND.value, description="A refund took back a purchase's points in proportion (negative)."
    )
    BONUS = strawberry.enum_value(
        EntryKind.BONUS.value,
        description="A reward: a purchase's eco bonus, an eco action, a challenge completed, a badge level "
        "or a streak milestone.",
    )
    ADJUSTMENT = strawberry.enum_value(
        EntryKind.ADJUSTMENT.value, description="A correction by the programme; no operation posts one yet."
    )
    REDEMPTION = strawberry.enum_value(
        EntryKind.REDEMPTION.value,
        description="Points spent on a reward (negative), or given back when the redemption was cancelled.",
    )
    CLAWBACK = strawberry.enum_value(
        EntryKind.CLAWBACK.value,
        description="A reward taken back because what earned it no longer holds (e.g. its purchase was "
        "refunded); the entry says exactly how many points were taken.",
    )
    EXPIRY = strawberry.enum_value(
        EntryKind.EXPIRY.value, description="Points that reached the end of their life unspent (negative)."
    )


@strawberry.type(description="Points that will expire on a day unless spent first.")
class ExpiringPoints:
    points: int = strawberry.field(description="How many.")
    date: date_ = strawberry.field(description="The day (UTC) they expire on.")


@strawberry.type(description="The customer's points.")
class Points:
    balance: int = strawberry.field(
        description="Available points, the ones that can be spent: the sum of every ledger entry."
    )
    customer_id: strawberry.Private[UUID]
    expiry_months: strawberry.Private[int]

    @strawberry.field(
        description="Points of recent purchases held for their return window: not spendable yet, they "
        "become available when it ends (less what refunds cancel)."
    )
    async def pending(self) -> int:
        return await pending_of(self.customer_id)

    @strawberry.field(
        description="What expires in the next 30 days, per day, oldest first (spending uses the oldest "
        "points first); empty when points do not expire."
    )
    async def expiring_soon(self) -> list[ExpiringPoints]:
        soon = await expiring_soon(self.customer_id, self.expiry_months)
        return [ExpiringPoints(points=e.points, date=e.day) for e in soon]


@strawberry.type(description="One movement of points. Entries are never changed or removed.")
class LedgerEntry:
    id: strawberry.ID = strawberry.field(description="Unique; the ledger lists entries by descending id.")
    delta: int = strawberry.field(description="Points added (positive) or taken (negative).")
    balance_after: int = strawberry.field(description="The balance right after this entry.")
    kind: LedgerEntryKind = strawberry.field(description="Why points moved.")
    reason: str = strawberry.field(description="A human-readable reason, e.g. 'Purchase A-1001'.")
    created_at: datetime = strawberry.field(description="When the entry was written.")

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


@strawberry.type(description="One entry of a ledger page.")
class LedgerEdge:
    node: LedgerEntry = strawberry.field(description="The entry.")
    cursor: str = strawberry.field(
        description="Opaque: pass it as `after` for the entries older than this one."
    )


@strawberry.type(description="Where a page ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether older entries follow this page.")
    end_cursor: str | None = strawberry.field(
        description="The last entry's cursor, to pass as `after` for the next page; null on an empty page."
    )


@strawberry.type(description="The customer's ledger, newest entry first.")
class LedgerConnection:
    edges: list[LedgerEdge] = strawberry.field(description="At most `first` entries, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether and where the next page starts.")

    @classmethod
    def from_page(cls, page: Page) -> LedgerConnection:
        edges = [LedgerEdge(node=LedgerEntry.from_model(e), cursor=encode_cursor(e.id)) for e in page.entries]
        return cls(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None),
        )


@strawberry.enum(description="Why the balance moved, in a live `pointsChanged` message.")
class PointsChangeReason(Enum):
    PURCHASE = strawberry.enum_value(Reason.PURCHASE.value, description="Points earned by a purchase.")
    ECO_BONUS = strawberry.enum_value(Reason.ECO_BONUS.value, description="The eco bonus of a purchase.")
    REFUND = strawberry.enum_value(Reason.REFUND.value, description="Purchase points taken back by a refund.")
    ECO_ACTION = strawberry.enum_value(Reason.ECO_ACTION.value, description="Points for an eco action.")
    CHALLENGE = strawberry.enum_value(Reason.CHALLENGE.value, description="A challenge's reward.")
    BADGE = strawberry.enum_value(Reason.BADGE.value, description="A badge level's reward.")
    STREAK = strawberry.enum_value(Reason.STREAK.value, description="A streak milestone's reward.")
    REFERRAL = strawberry.enum_value(
        Reason.REFERRAL.value,
        description="A referral reward: your own welcome bonus, or a referee's qualifying purchase down "
        "your chain.",
    )
    CLAWBACK = strawberry.enum_value(
        Reason.CLAWBACK.value,
        description="A challenge, badge level, streak milestone or referral reward withdrawn because a "
        "refund undid it.",
    )
    LEADERBOARD_PRIZE = strawberry.enum_value(
        Reason.LEADERBOARD_PRIZE.value, description="A leaderboard prize, paid when a season closed."
    )
    REDEMPTION = strawberry.enum_value(
        Reason.REDEMPTION.value, description="Points spent on a reward, or given back by a cancellation."
    )
    EXPIRY = strawberry.enum_value(Reason.EXPIRY.value, description="Points expired, oldest first.")


@strawberry.type(description="One ledger entry within a live balance change.")
class PointsChangePart:
    reason: PointsChangeReason = strawberry.field(description="Why these points moved.")
    delta: int = strawberry.field(description="Points added (positive) or taken (negative).")


@strawberry.type(description="A change of the signed-in customer's balance, pushed live.")
class PointsChange:
    balance: int = strawberry.field(description="The balance after the change.")
    delta: int = strawberry.field(description="Points added (positive) or taken (negative).")
    reason: PointsChangeReason = strawberry.field(
        description="Why the balance moved (the first entry's reason when there were several)."
    )
    parts: list[PointsChangePart] = strawberry.field(
        description="Every ledger entry of this change, in order: one commit sends one message (a purchase "
        "and its eco bonus, a challenge and the badge it granted), with the final balance."
    )


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
