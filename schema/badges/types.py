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
    DRAFT = strawberry.enum_value(
        Status.DRAFT.value, description="Being written: updateBadge may replace it; nobody earns it."
    )
    ACTIVE = strawberry.enum_value(
        Status.ACTIVE.value, description="Published: customers in its audience earn its levels."
    )
    ARCHIVED = strawberry.enum_value(
        Status.ARCHIVED.value, description="Earned no more; levels already earned stay held and shown."
    )


@strawberry.input(description="One level of a badge: reached when the badge's measure reaches its target.")
class BadgeLevelInput:
    name: LocalizedTextInput = strawberry.field(description="1 to 60 characters in each language given.")
    target: int = strawberry.field(description="1 to 1000000, ascending from one level to the next.")
    reward_points: int = strawberry.field(
        default=0, description="Points a customer is awarded on reaching it, 0 to 1000000."
    )
    icon: str = strawberry.field(
        default="",
        description="An icon name the app knows, at most 200 characters; empty for the badge's own.",
    )

    def to_level(self) -> Level:
        return Level(self.name.to_dict(), self.target, self.reward_points, self.icon)


@strawberry.input(description="A badge as a marketer writes it; updateBadge replaces every field.")
class BadgeInput:
    key: str = strawberry.field(
        description="A stable slug, unique (CONFLICT): 'acheteur-assidu'. Lowercase letters, digits, '_' or "
        "'-', starting with a letter or digit, at most 64."
    )
    name: LocalizedTextInput = strawberry.field(description="1 to 60 characters in each language given.")
    levels: list[BadgeLevelInput] = strawberry.field(
        description="1 to 10 levels. With a one-step rule, its step's target is the last level's target."
    )
    rule: JSON | None = strawberry.field(
        default=None,
        description="The rule language (see the README); none for a badge that challenges grant.",
    )
    description: LocalizedTextInput | None = strawberry.field(
        default=None, description="Up to 2000 characters in each language given; none for no description."
    )
    icon: str = strawberry.field(
        default="",
        description="An icon name the app knows (e.g. 'coffee'), at most 200 characters; empty for none.",
    )
    audience_tags: list[str] = strawberry.field(
        default_factory=list, description="Only customers with one of these tags earn it; empty for all."
    )


@strawberry.type(description="A level of a badge as marketers configure it.")
class BadgeLevel:
    level: int = strawberry.field(description="1 for the first level.")
    name: LocalizedText = strawberry.field(description="Its name in each language written.")
    target: int = strawberry.field(description="The value of the badge's measure that reaches it.")
    reward_points: int = strawberry.field(description="Points a customer is awarded on reaching it.")
    icon: str = strawberry.field(description="Its own icon; empty for the badge's.")
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
    id: strawberry.ID = strawberry.field(description="The badge's id.")
    key: str = strawberry.field(description="Its stable slug, unique.")
    status: BadgeStatus = strawberry.field(description="Where it is in its life.")
    name: LocalizedText = strawberry.field(description="Its name in each language written.")
    description: LocalizedText = strawberry.field(description="Its description in each language written.")
    icon: str = strawberry.field(
        description="An icon name the app knows (e.g. 'coffee'), at most 200 characters; empty for none."
    )
    rule: JSON | None = strawberry.field(
        description="The rule its levels measure, normalised; null for a badge that challenges grant."
    )
    levels: list[BadgeLevel] = strawberry.field(description="Its levels, lowest first.")
    audience_tags: list[str] = strawberry.field(
        description="Only customers with one of these tags earn it; empty for all."
    )
    published_at: datetime | None = strawberry.field(description="When it was published; null if never.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed: an edit or a status change.")

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
    level: int = strawberry.field(description="1 for the first level.")
    name: str = strawberry.field(description="In the customer's language, else the other.")
    target: int = strawberry.field(description="The value that reaches it.")
    reward_points: int = strawberry.field(description="Points awarded on reaching it.")
    icon: str = strawberry.field(description="The level's icon, else the badge's.")
    earned_at: datetime | None = strawberry.field(description="When the customer reached it; null if locked.")


@strawberry.type(description="A badge the customer holds or can earn, in their language.")
class CustomerBadgeType:
    id: strawberry.ID = strawberry.field(description="The badge's id.")
    key: str = strawberry.field(description="Its stable slug, e.g. 'acheteur-assidu'.")
    name: str = strawberry.field(description="In the customer's language, else the other.")
    description: str = strawberry.field(
        description="In the customer's language, else the other; may be empty."
    )
    icon: str = strawberry.field(
        description="An icon name the app knows (e.g. 'coffee'), at most 200 characters; empty for none."
    )
    level: int = strawberry.field(description="Levels earned: 0 while the badge is locked.")
    value: int = strawberry.field(
        description="Where the customer stands against the targets today (rolling windows forget old days)."
    )
    next_target: int | None = strawberry.field(description="The next level's target; null when all are held.")
    levels: list[CustomerBadgeLevel] = strawberry.field(
        description="All its levels, lowest first, earned or not."
    )

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
