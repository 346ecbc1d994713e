"""What a streak is, without the database: the settings' bounds, one activity moving a run, and a run as
seen on a given day.

A period is a day or an ISO week (Monday to Sunday) of the programme's timezone. A run counts the periods
with at least one activity; `freeze_days` is the run's allowance of missed periods (days, or weeks for a
weekly streak). Each missed period between two active ones spends one freeze and adds nothing to the length;
an activity after more missed periods than the freezes left starts a new run of length 1 with the whole
allowance again. The best length survives every restart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from game.errors import bad_input
from game.streaks.models import StreakPeriod

DEFAULT_ACTIVITY_TYPES = ("purchase", "eco_action", "check_in")
MAX_ACTIVITY_TYPES = 20
MAX_FREEZE_DAYS = 30
MAX_MILESTONES = 20
MAX_MILESTONE_LENGTH = 3660
MAX_REWARD_POINTS = 1_000_000
_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Taking points back is not being active.
_NOT_ACTIVITY = frozenset({"refund"})


@dataclass(frozen=True, slots=True)
class Milestone:
    length: int
    reward_points: int


@dataclass(frozen=True, slots=True)
class StreakConfig:
    period: StreakPeriod
    activity_types: tuple[str, ...] = DEFAULT_ACTIVITY_TYPES
    freeze_days: int = 0
    milestones: tuple[Milestone, ...] = ()
    active: bool = True
    # Only activity a till, partner or the platform recorded counts, not what the customer declared.
    verified_only: bool = False


def validated(config: StreakConfig) -> StreakConfig:
    """The config with its activity types deduplicated and sorted; BAD_USER_INPUT naming the field if not."""
    types = sorted(set(config.activity_types))
    if not 1 <= len(types) <= MAX_ACTIVITY_TYPES:
        raise bad_input(f"activityTypes: give 1 to {MAX_ACTIVITY_TYPES} event types", "activityTypes")
    for event_type in types:
        if not _TYPE.match(event_type) or event_type in _NOT_ACTIVITY:
            raise bad_input(
                f"activityTypes: {event_type!r} is not an activity (lowercase event types, not refund)",
                "activityTypes",
            )
    if not 0 <= config.freeze_days <= MAX_FREEZE_DAYS:
        raise bad_input(f"freezeDays must be between 0 and {MAX_FREEZE_DAYS}", "freezeDays")
    _check_milestones(config.milestones)
    return replace(config, activity_types=tuple(types))


def _check_milestones(milestones: tuple[Milestone, ...]) -> None:
    if len(milestones) > MAX_MILESTONES:
        raise bad_input(f"milestones: at most {MAX_MILESTONES}", "milestones")
    previous = 0
    for n, milestone in enumerate(milestones):
        if not 1 <= milestone.length <= MAX_MILESTONE_LENGTH:
            raise bad_input(
                f"milestones[{n}].length must be between 1 and {MAX_MILESTONE_LENGTH}", "milestones"
            )
        if milestone.length <= previous:
            raise bad_input(
                f"milestones[{n}].length must be greater than the previous milestone's ({previous})",
                "milestones",
            )
        if not 1 <= milestone.reward_points <= MAX_REWARD_POINTS:
            raise bad_input(
                f"milestones[{n}].rewardPoints must be between 1 and {MAX_REWARD_POINTS}", "milestones"
            )
        previous = milestone.length


def period_start(day: date, period: StreakPeriod) -> date:
    return day if period is StreakPeriod.DAILY else day - timedelta(days=day.weekday())


def period_key(day: date, period: StreakPeriod) -> str:
    """ "2026-11-23" or "2026-W48": the same key as a challenge period, and distinct between the two kinds."""
    if period is StreakPeriod.DAILY:
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def periods_between(earlier: date, later: date, period: StreakPeriod) -> int:
    """How many periods `later`'s is after `earlier`'s: 0 for the same period, negative when before."""
    days = (period_start(later, period) - period_start(earlier, period)).days
    return days if period is StreakPeriod.DAILY else days // 7


@dataclass(slots=True)
class Run:
    """The stored state of one customer's streak; an empty run has length 0 and no dates."""

    length: int = 0
    best: int = 0
    run_start: date | None = None
    last_active_on: date | None = None
    freezes_used: int = 0


class Counted(StrEnum):
    LATE = "late"  # before the last active period: ignored, the state keeps no history to place it in
    SAME_PERIOD = "same_period"
    NEW_PERIOD = "new_period"


def freezes_left(run: Run, freeze_days: int) -> int:
    # Marketers may lower the allowance mid-run: a run that already used more is not killed for it.
    return max(freeze_days - run.freezes_used, 0)


def advance(run: Run, day: date, period: StreakPeriod, freeze_days: int) -> Counted:
    """Moves `run` (in place) with one activity on local `day`."""
    if run.last_active_on is None or run.length == 0:
        _restart(run, day, period)
        return Counted.NEW_PERIOD
    gap = periods_between(run.last_active_on, day, period)
    if gap < 0:
        return Counted.LATE
    if gap == 0:
        run.last_active_on = max(run.last_active_on, day)
        return Counted.SAME_PERIOD
    missed = gap - 1
    if missed <= freezes_left(run, freeze_days):
        run.length += 1
        run.freezes_used += missed
        run.last_active_on = day
    else:
        _restart(run, day, period)
    run.best = max(run.best, run.length)
    return Counted.NEW_PERIOD


def _restart(run: Run, day: date, period: StreakPeriod) -> None:
    run.length, run.freezes_used = 1, 0
    run.run_start, run.last_active_on = period_start(day, period), day
    run.best = max(run.best, 1)


def reached(milestones: tuple[Milestone, ...], length: int) -> Milestone | None:
    """The milestone a run reaches as it grows to `length`: a run grows one period at a time, so each
    milestone is reached once per run."""
    return next((m for m in milestones if m.length == length), None)


@dataclass(frozen=True, slots=True)
class StreakView:
    period: StreakPeriod
    current: int
    best: int
    freeze_days: int
    freezes_left: int
    last_active_on: date | None
    alive: bool
    next_milestone: Milestone | None


def seen_on(run: Run, today: date, config: StreakConfig) -> StreakView:
    """The run as of local `today`, with no job having had to end it: periods missed since the last activity
    (today's does not count yet) spend freezes, and once more are missed than are left, the run is over."""
    missed = 0
    if run.last_active_on is not None:
        missed = max(periods_between(run.last_active_on, today, config.period) - 1, 0)
    left = freezes_left(run, config.freeze_days)
    alive = run.length > 0 and missed <= left
    current = run.length if alive else 0
    return StreakView(
        period=config.period,
        current=current,
        best=run.best,
        freeze_days=config.freeze_days,
        # A run that is over gives the next one the whole allowance.
        freezes_left=left - missed if alive else config.freeze_days,
        last_active_on=run.last_active_on,
        alive=alive,
        next_milestone=next((m for m in config.milestones if m.length > current), None),
    )
