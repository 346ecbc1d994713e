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
from schema.texts import LocalizedText, LocalizedTextInput


@strawberry.enum(description="Where a challenge is in its life: only ACTIVE ones count events.")
class ChallengeStatus(Enum):
    DRAFT = strawberry.enum_value(
        Status.DRAFT.value, description="Being written: updateChallenge may replace it; counts nothing."
    )
    ACTIVE = strawberry.enum_value(
        Status.ACTIVE.value, description="Published: counts events in its window; its audience sees it."
    )
    PAUSED = strawberry.enum_value(
        Status.PAUSED.value, description="Counts nothing for now; publishChallenge resumes it."
    )
    ARCHIVED = strawberry.enum_value(
        Status.ARCHIVED.value, description="Retired for good; rewards already awarded stay."
    )


@strawberry.enum(description="How often a challenge restarts, in the programme's timezone.")
class Recurrence(Enum):
    NONE = strawberry.enum_value(
        RecurrenceKind.NONE.value, description="Never: one period, 'once', for the whole window."
    )
    DAILY = strawberry.enum_value(
        RecurrenceKind.DAILY.value, description="Every local midnight; periods like '2026-11-23'."
    )
    WEEKLY = strawberry.enum_value(
        RecurrenceKind.WEEKLY.value, description="Every ISO week, from Monday; periods like '2026-W48'."
    )
    MONTHLY = strawberry.enum_value(
        RecurrenceKind.MONTHLY.value, description="On the 1st of every month; periods like '2026-11'."
    )


@strawberry.enum(description="Which of the signed-in customer's challenges to list.")
class ChallengeView(Enum):
    ACTIVE = strawberry.enum_value(
        "active",
        description="Running now and open to the customer (in its audience, budget left), unless already "
        "completed as often as this period allows.",
    )
    UPCOMING = strawberry.enum_value(
        "upcoming", description="Published, open to the customer, not started yet; their period is empty."
    )
    COMPLETED = strawberry.enum_value(
        "completed", description="Completed at least once, one entry per period, latest progress first."
    )


@strawberry.input(description="A challenge as a marketer writes it; updateChallenge replaces every field.")
class ChallengeInput:
    title: LocalizedTextInput = strawberry.field(description="1 to 120 characters in each language given.")
    starts_at: datetime = strawberry.field(description="With a UTC offset: events from then on count.")
    rule: JSON = strawberry.field(description="Steps, filters and targets: see the README's rule language.")
    ends_at: datetime | None = strawberry.field(
        default=None,
        description="With a UTC offset, after startsAt: events from then on no longer count; none for no "
        "end.",
    )
    description: LocalizedTextInput | None = strawberry.field(
        default=None, description="Up to 2000 characters in each language given; none for no description."
    )
    icon: str = strawberry.field(
        default="",
        description="An icon name the app knows (e.g. 'coffee'), at most 200 characters; empty for none.",
    )
    recurrence: Recurrence = strawberry.field(
        default=Recurrence.NONE, description="How often it restarts, in the programme's timezone."
    )
    reward_points: int = strawberry.field(
        default=0, description="Points each completion awards, 0 to 1000000."
    )
    reward_badge_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A badge without a rule of its own: each completion counts one towards its levels. It "
        "must be ACTIVE when the challenge is published.",
    )
    audience_tags: list[str] = strawberry.field(
        default_factory=list,
        description="Only customers with one of these tags take part; empty for everyone.",
    )
    max_completions_per_period: int = strawberry.field(
        default=1,
        description="Times a customer may complete it per period, 1 to 1000; each completion but the last "
        "starts the steps again from zero.",
    )
    budget_completions: int | None = strawberry.field(
        default=None,
        description="Completions, all customers together, 1 to 100000000; none for no limit.",
    )
    budget_points: int | None = strawberry.field(
        default=None,
        description="Reward points (rewardPoints per completion) all customers together may be awarded, at "
        "least 1; none for no limit.",
    )
    backfill: bool = strawberry.field(
        default=False, description="On publication, also count the window's events recorded before it."
    )


@strawberry.type(description="A challenge as marketers configure it.")
class ChallengeDefinition:
    id: strawberry.ID = strawberry.field(description="The challenge's id.")
    status: ChallengeStatus = strawberry.field(description="Where it is in its life.")
    title: LocalizedText = strawberry.field(description="Its title in each language written.")
    description: LocalizedText = strawberry.field(description="Its description in each language written.")
    icon: str = strawberry.field(
        description="An icon name the app knows (e.g. 'coffee'), at most 200 characters; empty for none."
    )
    starts_at: datetime = strawberry.field(description="Events from then on count.")
    ends_at: datetime | None = strawberry.field(
        description="Events from then on no longer count; null: no end."
    )
    recurrence: Recurrence = strawberry.field(description="How often it restarts.")
    rule: JSON = strawberry.field(
        description="Steps, filters and targets, normalised: see the README's rule language."
    )
    reward_points: int = strawberry.field(description="Points each completion awards.")
    reward_badge_id: strawberry.ID | None = strawberry.field(
        description="The badge each completion counts towards; null if none."
    )
    audience_tags: list[str] = strawberry.field(
        description="Only customers with one of these tags take part; empty for everyone."
    )
    max_completions_per_period: int = strawberry.field(
        description="Times a customer may complete it per period."
    )
    budget_completions: int | None = strawberry.field(
        description="Completions allowed, all customers together; null for no limit."
    )
    budget_points: int | None = strawberry.field(
        description="Reward points allowed, all customers together; null for no limit."
    )
    completions_count: int = strawberry.field(description="Completions so far, all customers together.")
    points_awarded: int = strawberry.field(
        description="Reward points awarded so far, all customers together (badge level rewards not included)."
    )
    budget_spent: bool = strawberry.field(
        description="No further completion fits the budgets: customers are no longer offered the challenge."
    )
    backfill: bool = strawberry.field(
        description="Whether publication also counts the window's events recorded before it."
    )
    backfilled_at: datetime | None = strawberry.field(
        description="When the backfill counted its last event; null until then, or without backfill."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(
        description="When it last changed: an edit, a status change or its backfill."
    )

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
    event: str = strawberry.field(
        description="The event type it counts: purchase, eco_action, a trackEvent type."
    )
    aggregate: str = strawberry.field(
        description="How: count, sum, distinct_days, consecutive_days or consecutive_weeks."
    )
    target: int = strawberry.field(description="The value that completes the step.")
    value: int = strawberry.field(description="Progress so far, at most the target.")


@strawberry.type(description="A challenge as the signed-in customer sees it, in their language.")
class CustomerChallengeType:
    id: strawberry.ID = strawberry.field(description="The challenge's id.")
    title: str = strawberry.field(description="In the customer's language, else the other.")
    description: str = strawberry.field(
        description="In the customer's language, else the other; may be empty."
    )
    icon: str = strawberry.field(
        description="An icon name the app knows (e.g. 'coffee'), at most 200 characters; empty for none."
    )
    starts_at: datetime = strawberry.field(description="Events from then on count.")
    ends_at: datetime | None = strawberry.field(
        description="Events from then on no longer count; null: no end."
    )
    reward_points: int = strawberry.field(description="Points each completion awards.")
    period: str = strawberry.field(
        description="'once', or the day ('2026-11-23'), ISO week ('2026-W48') or month ('2026-11') this "
        "progress counts for; empty in the UPCOMING list."
    )
    period_ends_at: datetime | None = strawberry.field(
        description="When this period ends (or the challenge, if sooner); null without an end, and in the "
        "UPCOMING and COMPLETED lists."
    )
    steps: list[ChallengeStep] = strawberry.field(description="The rule's steps in order, with the progress.")
    completed_at: datetime | None = strawberry.field(description="Set once no more completions are allowed.")
    completions: int = strawberry.field(description="Times completed in this period.")
    # Filled in by the list's resolver, all badges in one load: a resolver per challenge would make each of
    # the list's items a coroutine to await, which costs more than the badge.
    reward_badge: BadgeRef | None = strawberry.field(
        description="The badge each completion counts towards, if any."
    )

    @classmethod
    def from_view(
        cls, view: CustomerChallenge, locale: str, badges: dict[int, Badge]
    ) -> CustomerChallengeType:
        c = view.challenge
        badge = badges.get(c.reward_badge_id) if c.reward_badge_id is not None else None
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
            reward_badge=BadgeRef.of(badge, locale) if badge else None,
        )


@strawberry.type(
    description="A badge named from elsewhere (a challenge's reward), in the customer's language."
)
class BadgeRef:
    id: strawberry.ID = strawberry.field(description="The badge's id.")
    key: str = strawberry.field(description="The badge's stable slug, e.g. 'acheteur-assidu'.")
    name: str = strawberry.field(description="In the customer's language, else the other.")
    icon: str = strawberry.field(
        description="An icon name the app knows (e.g. 'coffee'), at most 200 characters; empty for none."
    )

    @classmethod
    def of(cls, badge: Badge, locale: str) -> BadgeRef:
        return cls(
            id=strawberry.ID(str(badge.id)), key=badge.key, name=in_text(badge.name, locale), icon=badge.icon
        )
