from __future__ import annotations

import strawberry

from game.earn.service import list_rules
from schema.earn.types import EarnRule
from schema.permissions import IsMarketer


@strawberry.type
class EarnQueries:
    @strawberry.field(
        description="Every earn rule of the programme (marketer).", permission_classes=[IsMarketer]
    )
    async def earn_rules(self) -> list[EarnRule]:
        return [EarnRule.from_model(rule) for rule in await list_rules()]
