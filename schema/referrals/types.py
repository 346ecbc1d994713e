from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum

import strawberry

from game.errors import bad_input
from game.referrals import service
from game.referrals.fraud import HoldReason
from game.referrals.models import MemberStatus, QualificationStatus, ReferralQualification


@strawberry.enum(description="Where a referee stands.")
class ReferralStatus(Enum):
    PENDING = strawberry.enum_value(
        MemberStatus.PENDING.value, description="Referred; no qualifying purchase yet (or it was refunded)."
    )
    QUALIFIED = strawberry.enum_value(
        MemberStatus.QUALIFIED.value, description="Qualified; the rewards were paid."
    )
    HELD = strawberry.enum_value(
        MemberStatus.HELD.value, description="Qualified; the rewards wait for review."
    )
    REJECTED = strawberry.enum_value(
        MemberStatus.REJECTED.value, description="A marketer refused the rewards."
    )


@strawberry.enum(description="Why a qualification's rewards were held for review.")
class ReferralHoldReason(Enum):
    SAME_EMAIL = strawberry.enum_value(
        HoldReason.SAME_EMAIL.value,
        description="The referee's e-mail reaches the same mailbox as someone's in their upline "
        "(ignoring case, "
        "+tags, and dots at Gmail).",
    )
    SAME_DEVICE = strawberry.enum_value(
        HoldReason.SAME_DEVICE.value, description="The referee's deviceId is one of their upline's."
    )
    SAME_PAYMENT = strawberry.enum_value(
        HoldReason.SAME_PAYMENT.value,
        description="The referee paid with a paymentFingerprint someone in their upline paid with.",
    )
    MONTHLY_CAP = strawberry.enum_value(
        HoldReason.MONTHLY_CAP.value,
        description="The direct referrer reached monthlyCapPerReferrer this month.",
    )
    VELOCITY = strawberry.enum_value(
        HoldReason.VELOCITY.value,
        description="The direct referrer signed up more than velocityLimit referees in the last 7 days.",
    )


@strawberry.enum(description="Where a held reward stands.")
class HeldRewardStatus(Enum):
    HELD = strawberry.enum_value(QualificationStatus.HELD.value, description="Waiting for review.")
    APPROVED = strawberry.enum_value(QualificationStatus.APPROVED.value, description="Approved and paid.")
    REJECTED = strawberry.enum_value(
        QualificationStatus.REJECTED.value, description="Rejected; nothing paid."
    )
    VOIDED = strawberry.enum_value(
        QualificationStatus.VOIDED.value, description="Its purchase was refunded before review; nothing paid."
    )
    PAID = strawberry.enum_value(QualificationStatus.PAID.value, description="Paid without review.")
    WITHDRAWN = strawberry.enum_value(
        QualificationStatus.WITHDRAWN.value,
        description="Paid, then reversed because its purchase was refunded.",
    )


@strawberry.type(description="The customer's referral, as applyReferralCode set it.")
class Referral:
    referrer_display_name: str = strawberry.field(description="Who referred the customer.")
    referred_at: datetime = strawberry.field(description="When the code was applied.")
    status: ReferralStatus = strawberry.field(description="Whether the customer qualified yet.")


@strawberry.type(description="Referees at one level below the customer.")
class ReferralLevelCount:
    level: int = strawberry.field(description="1: referred by the customer; 2: by those; and so on.")
    pending: int = strawberry.field(description="Referees who have not qualified yet.")
    qualified: int = strawberry.field(description="Referees who qualified and whose rewards were paid.")
    held: int = strawberry.field(description="Referees who qualified and whose rewards wait for review.")


@strawberry.type(description="Someone the customer referred directly.")
class Referee:
    display_name: str = strawberry.field(description="Their display name.")
    status: ReferralStatus = strawberry.field(description="Whether they qualified.")
    referred_at: datetime = strawberry.field(description="When they applied the customer's code.")


@strawberry.type(description="The customer's referrals: what to share, and what it brought.")
class ReferralSummary:
    code: str = strawberry.field(description="The customer's referral code.")
    link: str = strawberry.field(description="A sign-up link carrying the code.")
    levels: list[ReferralLevelCount] = strawberry.field(
        description="Counts per level, from 1 down to the deepest paid level (at least level 1)."
    )
    referees: list[Referee] = strawberry.field(description="Direct referees, newest first, at most `first`.")
    points_earned: int = strawberry.field(
        description="Points the customer holds from their referees' qualifications (not their own "
        "welcome bonus; "
        "clawed-back rewards excluded)."
    )


@strawberry.type(description="One customer up the signed-in customer's referral chain.")
class ReferralLink:
    level: int = strawberry.field(
        description="1: who referred the customer; 2: who referred them; and so on."
    )
    display_name: str = strawberry.field(description="Their display name.")


@strawberry.type(description="The points paid at one level of a referee's upline.")
class ReferralLevel:
    level: int = strawberry.field(description="1 to 5; 1 is the direct referrer.")
    points: int = strawberry.field(description="Points paid to the customer at this level.")


@strawberry.input(description="The points paid at one level of a referee's upline.")
class ReferralLevelInput:
    level: int = strawberry.field(description="1 to 5; 1 is the direct referrer; each level at most once.")
    points: int = strawberry.field(description="0 to 1000000.")


@strawberry.type(description="The programme's referral rules.")
class ReferralSettings:
    min_purchase_cents: int = strawberry.field(
        description="The smallest first purchase that qualifies a referee."
    )
    referee_points: int = strawberry.field(description="Points the referee gets on qualifying.")
    levels: list[ReferralLevel] = strawberry.field(description="Points per upline level, level 1 first.")
    apply_within_days: int = strawberry.field(
        description="How long after sign-up a code may still be applied."
    )
    monthly_cap_per_referrer: int | None = strawberry.field(
        description="Paid referrals per direct referrer and calendar month (UTC) before rewards are held; "
        "null: no cap."
    )
    velocity_limit: int | None = strawberry.field(
        description="Sign-ups per referrer in 7 days beyond which rewards are held; null: no limit."
    )
    active: bool = strawberry.field(description="Whether purchases qualify referrals at all.")

    @classmethod
    def of(cls, settings: service.Settings) -> ReferralSettings:
        return cls(
            min_purchase_cents=settings.min_purchase_cents,
            referee_points=settings.referee_points,
            levels=[ReferralLevel(level=lv, points=pts) for lv, pts in sorted(settings.levels.items())],
            apply_within_days=settings.apply_within_days,
            monthly_cap_per_referrer=settings.monthly_cap_per_referrer,
            velocity_limit=settings.velocity_limit,
            active=settings.active,
        )


@strawberry.input(description="The programme's referral rules, replacing the current ones.")
class ReferralSettingsInput:
    min_purchase_cents: int = strawberry.field(description="0 to 10000000 minor units.")
    referee_points: int = strawberry.field(description="0 to 1000000.")
    levels: list[ReferralLevelInput] = strawberry.field(description="At most one per level 1 to 5.")
    apply_within_days: int = strawberry.field(default=30, description="1 to 365.")
    monthly_cap_per_referrer: int | None = strawberry.field(
        default=None, description="0 to 100000, or null for no cap."
    )
    velocity_limit: int | None = strawberry.field(
        default=None, description="0 to 100000, or null for no limit."
    )
    active: bool = strawberry.field(default=True, description="False stops new qualifications.")


@strawberry.type(description="One fraud signal.")
class ReferralSignal:
    rule: ReferralHoldReason = strawberry.field(description="Which rule fired.")
    detail: str = strawberry.field(description="What it saw, for the reviewer.")


@strawberry.type(description="A reward one qualification pays to one customer.")
class ReferralReward:
    customer_id: strawberry.ID = strawberry.field(description="Who it pays (UUID).")
    level: int = strawberry.field(description="0: the referee; 1: the direct referrer; and so on up.")
    points: int = strawberry.field(description="How much.")


@strawberry.type(description="A referee's qualification whose rewards were held for review, with why.")
class HeldReferralReward:
    id: strawberry.ID = strawberry.field(
        description="Pass it to approveReferralReward or rejectReferralReward."
    )
    referee_id: strawberry.ID = strawberry.field(description="The referee (UUID).")
    referee_display_name: str = strawberry.field(description="The referee's display name.")
    referee_email: str = strawberry.field(description="The referee's e-mail.")
    referrer_id: strawberry.ID = strawberry.field(description="The direct referrer (UUID).")
    referrer_display_name: str = strawberry.field(description="The direct referrer's display name.")
    referrer_email: str = strawberry.field(description="The direct referrer's e-mail.")
    rewards: list[ReferralReward] = strawberry.field(description="What approval pays, level 0 first.")
    signals: list[ReferralSignal] = strawberry.field(description="Every rule that held it.")
    status: HeldRewardStatus = strawberry.field(description="Where it stands.")
    created_at: datetime = strawberry.field(description="When the referee qualified.")
    decided_at: datetime | None = strawberry.field(description="When it was reviewed; null until then.")
    decision_note: str | None = strawberry.field(
        description="The rejection's reason, as the marketer gave it."
    )

    @classmethod
    def of(cls, q: ReferralQualification, people: dict[str, tuple[str, str]]) -> HeldReferralReward:
        referee = people.get(str(q.referee_id), ("", ""))
        referrer = people.get(str(q.referrer_id), ("", ""))
        return cls(
            id=strawberry.ID(str(q.id)),
            referee_id=strawberry.ID(str(q.referee_id)),
            referee_display_name=referee[0],
            referee_email=referee[1],
            referrer_id=strawberry.ID(str(q.referrer_id)),
            referrer_display_name=referrer[0],
            referrer_email=referrer[1],
            rewards=[
                ReferralReward(
                    customer_id=strawberry.ID(str(r["customer_id"])),
                    level=int(r["level"]),
                    points=int(r["points"]),
                )
                for r in q.rewards
            ],
            signals=[
                ReferralSignal(rule=ReferralHoldReason(s["rule"]), detail=str(s["detail"])) for s in q.signals
            ],
            status=HeldRewardStatus(
                q.status.value if isinstance(q.status, QualificationStatus) else q.status
            ),
            created_at=q.created_at,
            decided_at=q.decided_at,
            decision_note=q.decision_note,
        )


@strawberry.type(description="A page of held referral rewards, oldest first.")
class HeldReferralRewardPage:
    items: list[HeldReferralReward] = strawberry.field(description="At most `first`.")
    has_next_page: bool = strawberry.field(description="Whether more follow.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null when empty."
    )


@strawberry.type(description="A referrer and how their referrals convert.")
class TopReferrer:
    customer_id: strawberry.ID = strawberry.field(description="The referrer (UUID).")
    display_name: str = strawberry.field(description="Their display name.")
    referrals: int = strawberry.field(description="Direct referees.")
    qualified_referrals: int = strawberry.field(description="Direct referees whose rewards were paid.")
    conversion_rate: float = strawberry.field(description="qualifiedReferrals / referrals, 0 to 1.")


_CURSOR_PREFIX = "held:"


def encode_cursor(held_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{held_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        value = int(text.removeprefix(_CURSOR_PREFIX))
        if not 0 <= value < 2**63:
            raise ValueError(text)
        return value
    except ValueError:
        raise bad_input("after is not a cursor returned by this API", "after") from None
