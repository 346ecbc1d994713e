from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from game.badges.models import Badge
from game.challenges.evaluation import budget_spent
from game.challenges.models import Challenge
from game.challenges.models import ChallengeStatus as Status
from game.challenges.models import Recurrence as RecurrenceKind
from game.challenges.service import CustomerChallenge
from game.validation import in_text
from schema.context import Info
from schema.texts import LocalizedText, LocalizedTextInput


@strawberry.enum(description="Where a challenge is in its life: only ACTIVE ones count events.")
class ChallengeStatus(Enum):
    DRAFT = Status.DRAFT.value
    ACTIVE = Status.ACTIVE.value
    PAUSED = Status.PAUSED.value
    ARCHIVED = Status.ARCHIVED.value


@strawberry.enum(description="How often a challenge restarts, in the programme's timezone.")
class Recurrence(Enum):
    NONE = RecurrenceKind.NONE.value
    DAILY = RecurrenceKind.DAILY.value
    WEEKLY = RecurrenceKind.WEEKLY.value
    MONTHLY = RecurrenceKind.MONTHLY.value


@strawberry.enum(description="Which of the signed-in customer's challenges to list.")
class ChallengeView(Enum):
    ACTIVE = "active"
    UPCOMING = "upcoming"
    COMPLETED = "completed"


@strawberry.input
class ChallengeInput:
    title: LocalizedTextInput
    starts_at: datetime
    rule: JSON = strawberry.field(description="Steps, filters and targets: see the README's rule language.")
    ends_at: datetime | None = None
    description: LocalizedTextInput | None = None
    icon: str = ""
    recurrence: Recurrence = Recurrence.NONE
    reward_points: int = 0
    reward_badge_id: strawberry.ID | None = strawberry.field(
        default=None, description="A badge without a rule of its own, granted on each completion."
    )
    audience_tags: list[str] = strawberry.field(
        default_factory=list,
        description="Only customers with one of these tags take part; empty for everyone.",
    )
    max_completions_per_period: int = 1
    budget_completions: int | None = strawberry.field(default=None, description="Completions, all customers.")
    budget_points: int | None = strawberry.field(default=None, description="Points awarded, all customers.")
    backfill: bool = strawberry.field(
        default=False, description="On publication, also count the window's events recorded before it."
    )


@strawberry.type(description="A challenge as marketers configure it.")
class ChallengeDefinition:
    id: strawberry.ID
    status: ChallengeStatus
    title: LocalizedText
    description: LocalizedText
    icon: str
    starts_at: datetime
    ends_at: datetime | None
    recurrence: Recurrence
    rule: JSON
    reward_points: int
    reward_badge_id: strawberry.ID | None
    audience_tags: list[str]
    max_completions_per_period: int
    budget_completions: int | None
    budget_points: int | None
    completions_count: int
    points_awarded: int
    budget_spent: bool = strawberry.field(
        description="No further completion fits the budgets: customers are no longer offered the challenge."
    )
    backfill: bool
    backfilled_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, c: Challenge) -> ChallengeDefinition:
        return cls(
            id=strawberry.ID(str(c.id)),
            status=ChallengeStatus(c.status.value),
            title=LocalizedText(fr=c.title.get("fr"), en=c.title.get("en")),
            description=LocalizedText(fr=c.description.get("fr"), en=c.description.get("en")),
            icon=c.icon,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            recurrence=Recurrence(c.recurrence.value),
            rule=cast(JSON, c.rule),
            reward_points=c.reward_points,
            reward_badge_id=strawberry.ID(str(c.reward_badge_id)) if c.reward_badge_id else None,
            audience_tags=c.audience_tags,
            max_completions_per_period=c.max_completions_per_period,
            budget_completions=c.budget_completions,
            budget_points=c.budget_points,
            completions_count=c.completions_count,
            points_awarded=c.points_awarded,
            budget_spent=budget_spent(c),
            backfill=c.backfill,
            backfilled_at=c.backfilled_at,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


@strawberry.type(description="One step of a challenge and how far the customer got.")
class ChallengeStep:
    event: str
    aggregate: str
    target: int
    value: int = strawberry.field(description="Progress so far, at most the target.")


@strawberry.type(description="A challenge as the signed-in customer sees it, in their language.")
class CustomerChallengeType:
    id: strawberry.ID
    title: str
    description: str
    icon: str
    starts_at: datetime
    ends_at: datetime | None
    reward_points: int
    period: str = strawberry.field(description="'once', or the day, week or month this progress counts for.")
    period_ends_at: datetime | None
    steps: list[ChallengeStep]
    completed_at: datetime | None = strawberry.field(description="Set once no more completions are allowed.")
    completions: int = strawberry.field(description="Times completed in this period.")
    reward_badge_id: strawberry.Private[int | None]
    locale: strawberry.Private[str]

    @strawberry.field(description="The badge each completion counts towards, if any.")
    async def reward_badge(self, info: Info) -> BadgeRef | None:
        if self.reward_badge_id is None:
            return None
        badge = await info.context.loaders.badge.load(self.reward_badge_id)
        return BadgeRef.of(badge, self.locale) if badge else None

    @classmethod
    def from_view(cls, view: CustomerChallenge, locale: str) -> CustomerChallengeType:
        c = view.challenge
        return cls(
            id=strawberry.ID(str(c.id)),
            title=in_text(c.title, locale),
            description=in_text(c.description, locale),
            icon=c.icon,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            reward_points=c.reward_points,
            period=view.period,
            period_ends_at=view.period_ends_at,
            steps=[
                ChallengeStep(event=s.event, aggregate=s.aggregate, target=s.target, value=s.value)
                for s in view.steps
            ],
            completed_at=view.completed_at,
            completions=view.completions,
            reward_badge_id=c.reward_badge_id,
            locale=locale,
        )


@strawberry.type(
    description="A badge named from elsewhere (a challenge's reward), in the customer's language."
)
class BadgeRef:
    id: strawberry.ID
    key: str
    name: str
    icon: str

    @classmethod
    def of(cls, badge: Badge, locale: str) -> BadgeRef:
        return cls(
            id=strawberry.ID(str(badge.id)), key=badge.key, name=in_text(badge.name, locale), icon=badge.icon
        )
