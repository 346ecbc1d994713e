from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry

from game.streaks.models import StreakPeriod as Period
from game.streaks.rules import (
    DEFAULT_ACTIVITY_TYPES,
    MAX_FREEZE_DAYS,
    MAX_MILESTONE_LENGTH,
    MAX_MILESTONES,
    MAX_REWARD_POINTS,
    Milestone,
    StreakConfig,
    StreakView,
)


@strawberry.enum(description="The length of a streak's periods, in the programme's timezone.")
class StreakPeriod(Enum):
    DAILY = strawberry.enum_value(Period.DAILY.value, description="A day, from local midnight.")
    WEEKLY = strawberry.enum_value(Period.WEEKLY.value, description="An ISO week, Monday to Sunday.")


@strawberry.type(description="A streak length that rewards a run once, when it gets there.")
class StreakMilestone:
    length: int = strawberry.field(description="Active periods in a row.")
    reward_points: int = strawberry.field(description="Points awarded when a run reaches this length.")

    @classmethod
    def from_milestone(cls, m: Milestone) -> StreakMilestone:
        return cls(length=m.length, reward_points=m.reward_points)


@strawberry.input(description="A streak length that rewards a run once, when it gets there.")
class StreakMilestoneInput:
    length: int = strawberry.field(description=f"Active periods in a row, 1 to {MAX_MILESTONE_LENGTH}.")
    reward_points: int = strawberry.field(description=f"Points awarded, 1 to {MAX_REWARD_POINTS}.")


@strawberry.input(description="The programme's streak; configuring it again replaces it.")
class StreakSettingsInput:
    period: StreakPeriod = strawberry.field(
        default=StreakPeriod.DAILY, description="A day or an ISO week (Monday to Sunday)."
    )
    activity_types: list[str] = strawberry.field(
        default_factory=lambda: list(DEFAULT_ACTIVITY_TYPES),
        description="The event types that count as activity (purchase, eco_action, trackEvent types).",
    )
    freeze_days: int = strawberry.field(
        default=0,
        description=f"Missed periods (days, or weeks for a weekly streak) a run survives, 0 to "
        f"{MAX_FREEZE_DAYS}: each spends one and adds nothing to the length; an activity after more missed "
        "periods than are left starts a new run with the whole allowance.",
    )
    milestones: list[StreakMilestoneInput] = strawberry.field(
        default_factory=list, description=f"At most {MAX_MILESTONES}, by strictly ascending length."
    )
    active: bool = strawberry.field(
        default=True, description="Off: events stop counting and customers see no streak."
    )
    verified_only: bool = strawberry.field(
        default=False,
        description="True: only activity a till, partner or the platform recorded counts (purchases, "
        "verified eco actions), not what customers declare themselves (trackEvent, declared eco actions).",
    )

    def to_config(self) -> StreakConfig:
        return StreakConfig(
            period=Period[self.period.name],
            activity_types=tuple(self.activity_types),
            freeze_days=self.freeze_days,
            milestones=tuple(Milestone(m.length, m.reward_points) for m in self.milestones),
            active=self.active,
            verified_only=self.verified_only,
        )


@strawberry.type(description="The programme's streak, as marketers configure it.")
class StreakSettings:
    period: StreakPeriod = strawberry.field(description="A day or an ISO week, in the programme's timezone.")
    activity_types: list[str] = strawberry.field(description="The event types that count as activity.")
    freeze_days: int = strawberry.field(description="Missed periods a run survives.")
    milestones: list[StreakMilestone] = strawberry.field(description="By ascending length.")
    active: bool = strawberry.field(description="Whether events count and customers see their streak.")
    verified_only: bool = strawberry.field(
        description="Whether only activity recorded by a till, partner or the platform counts."
    )

    @classmethod
    def from_config(cls, c: StreakConfig) -> StreakSettings:
        return cls(
            period=StreakPeriod(c.period.value),
            activity_types=list(c.activity_types),
            freeze_days=c.freeze_days,
            milestones=[StreakMilestone.from_milestone(m) for m in c.milestones],
            active=c.active,
            verified_only=c.verified_only,
        )


@strawberry.type(description="The signed-in customer's activity streak, as of today.")
class Streak:
    period: StreakPeriod = strawberry.field(description="A day or an ISO week, in the programme's timezone.")
    current: int = strawberry.field(description="Active periods in the current run; 0 once it has ended.")
    best: int = strawberry.field(description="The longest run so far.")
    freeze_days: int = strawberry.field(description="Missed periods a run survives.")
    freezes_left: int = strawberry.field(
        description="Missed periods the current run can still survive, those missed since the last activity "
        "already spent."
    )
    last_active_on: date | None = strawberry.field(
        description="The programme-local day of the latest activity counted."
    )
    alive: bool = strawberry.field(description="Whether an activity in the current period extends the run.")
    next_milestone: StreakMilestone | None = strawberry.field(
        description="The next length that rewards, if any is left."
    )

    @classmethod
    def from_view(cls, v: StreakView) -> Streak:
        return cls(
            period=StreakPeriod(v.period.value),
            current=v.current,
            best=v.best,
            freeze_days=v.freeze_days,
            freezes_left=v.freezes_left,
            last_active_on=v.last_active_on,
            alive=v.alive,
            next_milestone=StreakMilestone.from_milestone(v.next_milestone) if v.next_milestone else None,
        )
