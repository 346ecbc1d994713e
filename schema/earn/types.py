from __future__ import annotations

from datetime import datetime

import strawberry

from game.earn.models import EarnRule as EarnRuleModel


@strawberry.type
class CategoryMultiplier:
    category: str
    percent: int = strawberry.field(description="Percent of the base rate: 200 earns double.")


@strawberry.type(description="How purchases in one currency earn points.")
class EarnRule:
    id: strawberry.ID
    currency: str
    points_per_unit: int = strawberry.field(description="Points per whole currency unit (1 EUR, 1 JPY...).")
    category_multipliers: list[CategoryMultiplier]
    eco_bonus_pct: int = strawberry.field(
        description="Percent of the base rate added for eco items, on top of their category's: "
        "with 50, an eco item of a 200% category earns 250%."
    )
    active: bool
    updated_at: datetime

    @classmethod
    def from_model(cls, rule: EarnRuleModel) -> EarnRule:
        return cls(
            id=strawberry.ID(str(rule.id)),
            currency=rule.currency,
            points_per_unit=rule.points_per_unit,
            category_multipliers=[
                CategoryMultiplier(category=c, percent=p) for c, p in rule.category_multipliers.items()
            ],
            eco_bonus_pct=rule.eco_bonus_pct,
            active=rule.active,
            updated_at=rule.updated_at,
        )


@strawberry.input
class CategoryMultiplierInput:
    category: str
    percent: int


@strawberry.input
class EarnRuleInput:
    currency: str
    points_per_unit: int
    category_multipliers: list[CategoryMultiplierInput] | None = None
    eco_bonus_pct: int = strawberry.field(
        default=0, description="Percent of the base rate added for eco items (0 to 1000; 0 = no bonus)."
    )
    active: bool = True
