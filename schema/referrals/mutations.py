from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry

from game.events.queue import enqueue_processing
from game.leaderboards import store as board_store
from game.notifications.service import enqueue_delivery
from game.referrals import evaluation, service
from game.referrals.models import MemberStatus
from schema.context import Info
from schema.permissions import IsCustomer, IsMarketer
from schema.referrals.types import (
    HeldReferralReward,
    Referral,
    ReferralSettings,
    ReferralSettingsInput,
    ReferralStatus,
)


@strawberry.type
class ReferralMutations:
    @strawberry.mutation(
        description="Set who referred the signed-in customer, once, within applyWithinDays of sign-up "
        "(customer). "
        "BAD_USER_INPUT with extensions.reason UNKNOWN_CODE, SELF_REFERRAL, ALREADY_REFERRED, "
        "TOO_LATE or CYCLE.",
        permission_classes=[IsCustomer],
    )
    async def apply_referral_code(
        self,
        info: Info,
        code: Annotated[
            str, strawberry.argument(description="The referrer's code; case, spaces and dashes ignored.")
        ],
        device_id: Annotated[
            str | None,
            strawberry.argument(description="The app's device identifier, 1 to 128 printable characters."),
        ] = None,
    ) -> Referral:
        customer_id = info.context.viewer.customer_id
        assert customer_id is not None  # IsCustomer
        applied = await service.join(customer_id, code, device_id)
        assert applied is not None  # a code was given
        return Referral(
            referrer_display_name=applied.referrer_display_name,
            referred_at=applied.referred_at,
            status=ReferralStatus(MemberStatus(applied.status).value),
        )

    @strawberry.mutation(
        description="Replace the programme's referral rules (marketer).", permission_classes=[IsMarketer]
    )
    async def configure_referrals(
        self, input: Annotated[ReferralSettingsInput, strawberry.argument(description="The new rules.")]
    ) -> ReferralSettings:
        settings = await service.configure(
            service.SettingsInput(
                min_purchase_cents=input.min_purchase_cents,
                referee_points=input.referee_points,
                levels=[(level.level, level.points) for level in input.levels],
                apply_within_days=input.apply_within_days,
                monthly_cap_per_referrer=input.monthly_cap_per_referrer,
                velocity_limit=input.velocity_limit,
                active=input.active,
            )
        )
        return ReferralSettings.of(settings)

    @strawberry.mutation(
        description="Pay a held referral reward through the award path, once (marketer); CONFLICT with "
        "ALREADY_DECIDED if it was approved, rejected or voided before.",
        permission_classes=[IsMarketer],
    )
    async def approve_referral_reward(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The held reward's id.")],
    ) -> HeldReferralReward:
        return await _decide(info, str(id), approve=True)

    @strawberry.mutation(
        description="Refuse a held referral reward, once; the referee cannot qualify again (marketer).",
        permission_classes=[IsMarketer],
    )
    async def reject_referral_reward(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The held reward's id.")],
        reason: Annotated[str, strawberry.argument(description="Why, 1 to 500 characters, kept with it.")],
    ) -> HeldReferralReward:
        return await _decide(info, str(id), approve=False, note=reason)


async def _decide(info: Info, held: str, *, approve: bool, note: str | None = None) -> HeldReferralReward:
    if note is not None:
        note = service.validate_note(note)
    tz = ZoneInfo(info.context.settings.programme_timezone)
    decided = await evaluation.decide(service.held_id(held), approve, tz, note)
    # After commit: the referrer's referral_qualified event, the notifications the grants queued, the boards.
    for event_id in decided.reacted.events:
        await enqueue_processing(info.context.arq, event_id)
    await enqueue_delivery(info.context.arq, [award.key for award in decided.reacted.awards])
    await board_store.mirror(info.context.arq, decided.reacted.standings)
    q = decided.qualification
    return HeldReferralReward.of(q, await service.names([q.referee_id, q.referrer_id]))
