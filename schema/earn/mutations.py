from __future__ import annotations

import strawberry

from game.earn.service import upsert_rule
from game.errors import bad_input
from schema.earn.types import EarnRule, EarnRuleInput
from schema.permissions import IsMarketer


@strawberry.type
class EarnMutations:
    @strawberry.mutation(
        description="Create or replace the earn rule of a currency (marketer).",
        permission_classes=[IsMarketer],
    )
    async def upsert_earn_rule(self, input: EarnRuleInput) -> EarnRule:
        multipliers = {m.category: m.percent for m in input.category_multipliers or []}
        if len(multipliers) != len(input.category_multipliers or []):
            raise bad_input("each category may appear once", "categoryMultipliers")
        rule = await upsert_rule(input.currency, input.points_per_unit, multipliers, input.active)
        return EarnRule.from_model(rule)
