from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum

import strawberry

from game.errors import bad_input
from game.rewards.models import Redemption as RedemptionModel
from game.rewards.models import RedemptionStatus as Status
from game.rewards.models import Reward as RewardModel
from game.rewards.models import RewardKind as Kind
from game.rewards.models import RewardStatus as DefinitionStatus
from game.rewards.service import Offer, Page
from game.validation import in_text
from schema.texts import LocalizedText, LocalizedTextInput


@strawberry.enum(description="What a reward is.")
class RewardKind(Enum):
    PRODUCT = strawberry.enum_value(Kind.PRODUCT.value, description="Goods handed over at a till.")
    VOUCHER = strawberry.enum_value(Kind.VOUCHER.value, description="A discount voucher.")
    EXPERIENCE = strawberry.enum_value(Kind.EXPERIENCE.value, description="An event, a visit, a class.")
    DONATION = strawberry.enum_value(
        Kind.DONATION.value, description="Points given to a cause: a receipt, no coupon."
    )
    PARTNER_OFFER = strawberry.enum_value(Kind.PARTNER_OFFER.value, description="A partner's offer.")


@strawberry.enum(description="Where a reward is in its life.")
class RewardStatus(Enum):
    DRAFT = strawberry.enum_value(DefinitionStatus.DRAFT.value, description="Being written; not offered.")
    LIVE = strawberry.enum_value(DefinitionStatus.LIVE.value, description="Offered (within its dates).")
    ARCHIVED = strawberry.enum_value(
        DefinitionStatus.ARCHIVED.value, description="No longer offered; redemptions made stay."
    )


@strawberry.enum(description="Where a redemption is in its life.")
class RedemptionStatus(Enum):
    ACTIVE = strawberry.enum_value(Status.ACTIVE.value, description="Points spent; the coupon is unused.")
    CONSUMED = strawberry.enum_value(Status.CONSUMED.value, description="The coupon was used at a till.")
    CANCELLED = strawberry.enum_value(
        Status.CANCELLED.value, description="Cancelled: the points and the unit of stock went back."
    )


@strawberry.input(description="A reward of the catalogue, every field anew.")
class RewardInput:
    kind: RewardKind = strawberry.field(description="What the reward is.")
    name: LocalizedTextInput = strawberry.field(description="1 to 120 characters in each language given.")
    cost_points: int = strawberry.field(description="Its price in points, 1 to 10,000,000.")
    description: LocalizedTextInput | None = strawberry.field(
        default=None, description="Up to 2000 characters in each language given."
    )
    image_url: str | None = strawberry.field(default=None, description="An https:// URL.")
    stock: int | None = strawberry.field(
        default=None, description="Units on offer in all, 0 to 10,000,000; null: unlimited."
    )
    per_customer_limit: int | None = strawberry.field(
        default=None, description="How many one customer may hold (cancelled ones do not count); null: any."
    )
    starts_at: datetime | None = strawberry.field(default=None, description="Offered from; null: at once.")
    ends_at: datetime | None = strawberry.field(default=None, description="Offered until; null: no end.")
    coupon_valid_days: int | None = strawberry.field(
        default=None, description="Days a coupon stays usable, 1 to 3650; null: it does not expire."
    )
    cancel_window_hours: int = strawberry.field(
        default=24, description="Hours the customer may cancel an unused redemption, 0 to 2160."
    )
    audience_tags: list[str] = strawberry.field(
        default_factory=list, description="Offered only to customers with one of these tags; empty: all."
    )


@strawberry.type(description="A reward as the marketer defines it.")
class RewardDefinition:
    id: strawberry.ID = strawberry.field(description="The reward's id.")
    kind: RewardKind = strawberry.field(description="What the reward is.")
    status: RewardStatus = strawberry.field(description="DRAFT, LIVE or ARCHIVED.")
    name: LocalizedText = strawberry.field(description="Its name in each language written.")
    description: LocalizedText = strawberry.field(description="Its text in each language written.")
    image_url: str | None = strawberry.field(description="Its picture.")
    cost_points: int = strawberry.field(description="Its price in points.")
    stock: int | None = strawberry.field(description="Units on offer in all; null: unlimited.")
    redeemed: int = strawberry.field(description="Units redeemed and not cancelled.")
    per_customer_limit: int | None = strawberry.field(description="How many one customer may hold.")
    starts_at: datetime | None = strawberry.field(description="Offered from.")
    ends_at: datetime | None = strawberry.field(description="Offered until.")
    coupon_valid_days: int | None = strawberry.field(description="Days a coupon stays usable.")
    cancel_window_hours: int = strawberry.field(description="Hours an unused redemption may be cancelled.")
    audience_tags: list[str] = strawberry.field(description="Customer tags it is offered to; empty: all.")

    @classmethod
    def from_model(cls, r: RewardModel) -> RewardDefinition:
        return cls(
            id=strawberry.ID(str(r.id)),
            kind=RewardKind(r.kind.value),
            status=RewardStatus(r.status.value),
            name=LocalizedText.of(r.name),
            description=LocalizedText.of(r.description),
            image_url=r.image_url,
            cost_points=r.cost_points,
            stock=r.stock,
            redeemed=r.redeemed,
            per_customer_limit=r.per_customer_limit,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            coupon_valid_days=r.coupon_valid_days,
            cancel_window_hours=r.cancel_window_hours,
            audience_tags=list(r.audience_tags),
        )


@strawberry.type(description="A live reward, as the signed-in customer sees it.")
class Reward:
    id: strawberry.ID = strawberry.field(description="Pass it to redeemReward.")
    kind: RewardKind = strawberry.field(description="What the reward is.")
    name: str = strawberry.field(description="In the customer's language, else another.")
    description: str = strawberry.field(description="In the customer's language, else another; may be empty.")
    image_url: str | None = strawberry.field(description="Its picture.")
    cost_points: int = strawberry.field(description="Its price in points.")
    stock_left: int | None = strawberry.field(description="Units left; null: unlimited.")
    ends_at: datetime | None = strawberry.field(description="Offered until; null: no end.")
    can_redeem: bool = strawberry.field(description="Whether redeemReward would succeed now.")
    blocked_by: str | None = strawberry.field(
        description="Why not, when canRedeem is false: INSUFFICIENT_POINTS, OUT_OF_STOCK or LIMIT_REACHED."
    )

    @classmethod
    def of(cls, offer: Offer, locale: str) -> Reward:
        r = offer.reward
        return cls(
            id=strawberry.ID(str(r.id)),
            kind=RewardKind(r.kind.value),
            name=in_text(r.name, locale),
            description=in_text(r.description, locale),
            image_url=r.image_url,
            cost_points=r.cost_points,
            stock_left=offer.stock_left,
            ends_at=r.ends_at,
            can_redeem=offer.blocked_by is None,
            blocked_by=offer.blocked_by.value if offer.blocked_by else None,
        )


@strawberry.type(description="Points spent on a reward.")
class Redemption:
    id: strawberry.ID = strawberry.field(description="Pass it to cancelRedemption.")
    reward_id: strawberry.ID = strawberry.field(description="The reward redeemed.")
    reward_name: str = strawberry.field(description="The reward's name when it was redeemed.")
    kind: RewardKind = strawberry.field(description="What the reward is.")
    points: int = strawberry.field(description="Points spent.")
    status: RedemptionStatus = strawberry.field(description="ACTIVE, CONSUMED or CANCELLED.")
    coupon_code: str | None = strawberry.field(
        description="The code to show at a till (12 characters, no 0/O/1/I/L); null for a donation."
    )
    receipt: str | None = strawberry.field(description="A donation's receipt number; null otherwise.")
    expires_at: datetime | None = strawberry.field(description="When the coupon stops being usable.")
    created_at: datetime = strawberry.field(description="When the points were spent.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    consumed_at: datetime | None = strawberry.field(description="When the coupon was used.")

    @classmethod
    def from_model(cls, r: RedemptionModel) -> Redemption:
        return cls(
            id=strawberry.ID(str(r.id)),
            reward_id=strawberry.ID(str(r.reward_id)),
            reward_name=in_text(r.snapshot.get("name", {}), "en"),
            kind=RewardKind(r.snapshot.get("kind", Kind.PRODUCT.value)),
            points=r.points,
            status=RedemptionStatus(r.status.value),
            coupon_code=r.code,
            receipt=r.receipt,
            expires_at=r.expires_at,
            created_at=r.created_at,
            cancelled_at=r.cancelled_at,
            consumed_at=r.consumed_at,
        )


@strawberry.type(description="One redemption of a page.")
class RedemptionEdge:
    node: Redemption = strawberry.field(description="The redemption.")
    cursor: str = strawberry.field(description="Opaque: pass it as `after` for older redemptions.")


@strawberry.type(description="Where a page of redemptions ends.")
class RedemptionPageInfo:
    has_next_page: bool = strawberry.field(description="Whether older redemptions follow this page.")
    end_cursor: str | None = strawberry.field(description="The last redemption's cursor; null if empty.")


@strawberry.type(description="The customer's redemptions, newest first.")
class RedemptionConnection:
    edges: list[RedemptionEdge] = strawberry.field(description="At most `first`, newest first.")
    page_info: RedemptionPageInfo = strawberry.field(description="Whether and where the next page starts.")

    @classmethod
    def from_page(cls, page: Page) -> RedemptionConnection:
        edges = [
            RedemptionEdge(node=Redemption.from_model(r), cursor=encode_cursor(r.id))
            for r in page.redemptions
        ]
        return cls(
            edges=edges,
            page_info=RedemptionPageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
        )


@strawberry.type(description="A coupon as a till sees it.")
class Coupon:
    code: str = strawberry.field(description="The code, normalised (upper case, no dashes).")
    reward_name: str = strawberry.field(description="What to hand over.")
    kind: RewardKind = strawberry.field(description="What the reward is.")
    status: RedemptionStatus = strawberry.field(
        description="ACTIVE (usable if valid), CONSUMED or CANCELLED."
    )
    valid: bool = strawberry.field(description="Whether consumeCoupon would accept it now.")
    problem: str | None = strawberry.field(
        description="Why not, when invalid: COUPON_USED, CANCELLED or COUPON_EXPIRED."
    )
    expires_at: datetime | None = strawberry.field(description="When it stops being usable.")
    consumed_at: datetime | None = strawberry.field(description="When it was used.")
    order_id: str | None = strawberry.field(description="The order it was used on, as the till said.")

    @classmethod
    def from_model(cls, r: RedemptionModel, problem: str | None) -> Coupon:
        return cls(
            code=r.code or "",
            reward_name=in_text(r.snapshot.get("name", {}), "en"),
            kind=RewardKind(r.snapshot.get("kind", Kind.PRODUCT.value)),
            status=RedemptionStatus(r.status.value),
            valid=problem is None,
            problem=problem,
            expires_at=r.expires_at,
            consumed_at=r.consumed_at,
            order_id=r.consumed_order_id,
        )


_CURSOR_PREFIX = "redemption:"


def encode_cursor(redemption_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{redemption_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        return int(text.removeprefix(_CURSOR_PREFIX))
    except ValueError:
        raise bad_input("after is not a cursor returned by this API", "after") from None


def to_data_kind(kind: RewardKind) -> Kind:
    return Kind[kind.name]
