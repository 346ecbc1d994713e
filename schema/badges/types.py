from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from game.badges.levels import Level
from game.badges.models import Badge
from game.badges.models import BadgeStatus as Status
from game.badges.service import CustomerBadge
from game.validation import in_text
from schema.context import Info
from schema.texts import LocalizedText, LocalizedTextInput


@strawberry.enum(description="DRAFT badges can be edited; ACTIVE ones are earned; ARCHIVED ones stay held.")
class BadgeStatus(Enum):
    DRAFT = Status.DRAFT.value
    ACTIVE = Status.ACTIVE.value
    ARCHIVED = Status.ARCHIVED.value


@strawberry.input(description="One level of a badge: reached when the badge's measure reaches its target.")
class BadgeLevelInput:
    name: LocalizedTextInput
    target: int = strawberry.field(description="Ascending from one level to the next.")
    reward_points: int = 0
    icon: str = ""

    def to_level(self) -> Level:
        return Level(self.name.to_dict(), self.target, self.reward_points, self.icon)


@strawberry.input
class BadgeInput:
    key: str = strawberry.field(description="A stable slug, unique: 'acheteur-assidu'.")
    name: LocalizedTextInput
    levels: list[BadgeLevelInput] = strawberry.field(
        description="1 to 10 levels. With a one-step rule, its step's target is the last level's target."
    )
    rule: JSON | None = strawberry.field(
        default=None,
        description="The rule language (see the README); none for a badge that challenges grant.",
    )
    description: LocalizedTextInput | None = None
    icon: str = ""
    audience_tags: list[str] = strawberry.field(
        default_factory=list, description="Only customers with one of these tags earn it; empty for all."
    )


@strawberry.type(description="A level of a badge as marketers configure it.")
class BadgeLevel:
    level: int = strawberry.field(description="1 for the first level.")
    name: LocalizedText
    target: int
    reward_points: int
    icon: str
    badge_id: strawberry.Private[int]

    @strawberry.field(description="How many customers hold this level.")
    async def holders(self, info: Info) -> int:
        return (await info.context.loaders.badge_holders.load(self.badge_id)).get(self.level, 0)


def _levels(badge_id: int, levels: list[Level]) -> list[BadgeLevel]:
    return [
        BadgeLevel(
            level=n,
            name=LocalizedText.of(x.name),
            target=x.target,
            reward_points=x.reward_points,
            icon=x.icon,
            badge_id=badge_id,
        )
        for n, x in enumerate(levels, start=1)
    ]


@strawberry.type(description="A badge as marketers configure it.")
class BadgeDefinition:
    id: strawberry.ID
    key: str
    status: BadgeStatus
    name: LocalizedText
    description: LocalizedText
    icon: str
    rule: JSON | None
    levels: list[BadgeLevel]
    audience_tags: list[str]
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, b: Badge) -> BadgeDefinition:
        return cls(
            id=strawberry.ID(str(b.id)),
            key=b.key,
            status=BadgeStatus(b.status.value),
            name=LocalizedText.of(b.name),
            description=LocalizedText.of(b.description),
            icon=b.icon,
            rule=cast(JSON, b.rule),
            levels=_levels(b.id, [Level.from_json(x) for x in b.levels]),
            audience_tags=b.audience_tags,
            published_at=b.published_at,
            created_at=b.created_at,
            updated_at=b.updated_at,
        )


@strawberry.type(description="A level of a badge as the customer sees it.")
class CustomerBadgeLevel:
    level: int
    name: str
    target: int
    reward_points: int
    icon: str
    earned_at: datetime | None = strawberry.field(description="When the customer reached it; null if locked.")


@strawberry.type(description="A badge the customer holds or can earn, in their language.")
class CustomerBadgeType:
    id: strawberry.ID
    key: str
    name: str
    description: str
    icon: str
    level: int = strawberry.field(description="Levels earned: 0 while the badge is locked.")
    value: int = strawberry.field(
        description="Where the customer stands against the targets today (rolling windows forget old days)."
    )
    next_target: int | None = strawberry.field(description="The next level's target; null when all are held.")
    levels: list[CustomerBadgeLevel]

    @classmethod
    def from_view(cls, view: CustomerBadge, locale: str) -> CustomerBadgeType:
        b, earned = view.badge, {e.level: e.earned_at for e in view.earned}
        next_level = view.next_level
        return cls(
            id=strawberry.ID(str(b.id)),
            key=b.key,
            name=in_text(b.name, locale),
            description=in_text(b.description, locale),
            icon=b.icon,
            level=len(view.earned),
            value=view.value,
            next_target=next_level.target if next_level else None,
            levels=[
                CustomerBadgeLevel(
                    level=n,
                    name=in_text(x.name, locale),
                    target=x.target,
                    reward_points=x.reward_points,
                    icon=x.icon or b.icon,
                    earned_at=earned.get(n),
                )
                for n, x in enumerate(view.levels, start=1)
            ],
        )
