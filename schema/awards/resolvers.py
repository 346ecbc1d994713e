"""The programme's clawback policy: what a refund may take back of the rewards it undid."""

from __future__ import annotations

from typing import Annotated

import strawberry

from game.awards.service import clawback_below_zero, set_clawback_below_zero
from schema.context import Info
from schema.permissions import IsMarketer


@strawberry.type(
    description="How rewards are taken back when what earned them no longer holds (a refunded purchase "
    "withdraws the challenge completions, badge levels and streak milestones it made)."
)
class ClawbackPolicy:
    below_zero: bool = strawberry.field(
        description="True (the default): a withdrawn reward is taken back whole, even if that takes the "
        "balance below zero; the customer's next earnings pay it back. False: a clawback takes at most what "
        "the balance holds. Either way the CLAWBACK ledger entry says exactly what was taken."
    )


@strawberry.type
class AwardQueries:
    @strawberry.field(
        description="The programme's clawback policy (marketer).", permission_classes=[IsMarketer]
    )
    async def clawback_policy(self, info: Info) -> ClawbackPolicy:
        return ClawbackPolicy(below_zero=await clawback_below_zero())


@strawberry.type
class AwardMutations:
    @strawberry.mutation(
        description="Set whether clawbacks may take a balance below zero (marketer). Applies to withdrawals "
        "from then on; past entries stay as they are.",
        permission_classes=[IsMarketer],
    )
    async def set_clawback_policy(
        self,
        info: Info,
        below_zero: Annotated[
            bool,
            strawberry.argument(description="True: take the whole reward back; false: stop at zero."),
        ],
    ) -> ClawbackPolicy:
        return ClawbackPolicy(below_zero=await set_clawback_below_zero(below_zero))
