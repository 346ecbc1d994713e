from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from game.referrals import service
from schema.context import Info
from schema.permissions import IsCustomer, IsMarketer
from schema.referrals.types import (
    HeldReferralReward,
    HeldReferralRewardPage,
    Referee,
    ReferralLevelCount,
    ReferralLink,
    ReferralSettings,
    ReferralStatus,
    ReferralSummary,
    TopReferrer,
    decode_cursor,
    encode_cursor,
)


def _me(info: Info) -> UUID:
    customer_id = info.context.viewer.customer_id
    assert customer_id is not None  # IsCustomer
    return customer_id


@strawberry.type
class ReferralQueries:
    @strawberry.field(
        description="The signed-in customer's referral code, link, counts per level, direct referees and "
        "points "
        "earned from referrals (customer).",
        permission_classes=[IsCustomer],
    )
    async def my_referrals(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Direct referees to list, 1 to 100.")] = 20,
    ) -> ReferralSummary:
        summary = await service.summary(_me(info), first)
        return ReferralSummary(
            code=summary.code,
            link=f"{info.context.settings.referral_link_base}{summary.code}",
            levels=[
                ReferralLevelCount(level=c.level, pending=c.pending, qualified=c.qualified, held=c.held)
                for c in summary.levels
            ],
            referees=[
                Referee(
                    display_name=r.display_name,
                    status=ReferralStatus(r.status.value),
                    referred_at=r.referred_at,
                )
                for r in summary.referees
            ],
            points_earned=summary.points_earned,
        )

    @strawberry.field(
        description="The signed-in customer's upline, level 1 (who referred them) first (customer).",
        permission_classes=[IsCustomer],
    )
    async def referral_chain(self, info: Info) -> list[ReferralLink]:
        return [
            ReferralLink(level=link.level, display_name=link.display_name)
            for link in await service.chain(_me(info))
        ]

    @strawberry.field(
        description="The programme's referral rules; null until configured (marketer).",
        permission_classes=[IsMarketer],
    )
    async def referral_settings(self) -> ReferralSettings | None:
        settings = await service.settings()
        return ReferralSettings.of(settings) if settings else None

    @strawberry.field(
        description="Qualifications whose rewards wait for review, oldest first, with the signals that "
        "held them "
        "(marketer).",
        permission_classes=[IsMarketer],
    )
    async def held_referral_rewards(
        self,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(description="endCursor of the previous page; none for the oldest."),
        ] = None,
    ) -> HeldReferralRewardPage:
        page = await service.held_rewards(first, decode_cursor(after))
        people = await service.names([c for q in page.rewards for c in (q.referee_id, q.referrer_id)])
        items = [HeldReferralReward.of(q, people) for q in page.rewards]
        return HeldReferralRewardPage(
            items=items,
            has_next_page=page.has_next,
            end_cursor=encode_cursor(page.rewards[-1].id) if page.rewards else None,
        )

    @strawberry.field(
        description="Referrers with the most qualified direct referrals, and their conversion rate "
        "(marketer).",
        permission_classes=[IsMarketer],
    )
    async def top_referrers(
        self, first: Annotated[int, strawberry.argument(description="How many, 1 to 100.")] = 10
    ) -> list[TopReferrer]:
        return [
            TopReferrer(
                customer_id=strawberry.ID(str(t.customer_id)),
                display_name=t.display_name,
                referrals=t.referred,
                qualified_referrals=t.qualified,
                conversion_rate=t.conversion_rate,
            )
            for t in await service.top_referrers(first)
        ]
