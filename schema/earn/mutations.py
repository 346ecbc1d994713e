from __future__ import annotations

from typing import Annotated

import strawberry

from game.earn.service import multipliers_from_pairs, upsert_rule
from schema.earn.types import EarnRule, EarnRuleInput
from schema.permissions import IsMarketer


@strawberry.type
class EarnMutations:
    @strawberry.mutation(
        description="Create or replace the earn rule of a currency (marketer).",
        permission_classes=[IsMarketer],
    )
    async def upsert_earn_rule(
        self, input: Annotated[EarnRuleInput, strawberry.argument(description="The currency's new rule.")]
    ) -> EarnRule:
        pairs = [(m.category, m.percent) for m in input.category_multipliers or []]
        multipliers = multipliers_from_pairs(pairs)
        rule = await upsert_rule(
            input.currency,
            input.points_per_unit,
            multipliers,
            input.active,
            eco_bonus_pct=input.eco_bonus_pct,
            pending_days=input.pending_days,
        )
        return EarnRule.from_model(rule)
