"""Streaks: the programme's setting, a customer's run moved by one event at a time, milestone rewards through
the ledger under `streak:<customer>:<run start>:<length>`, and the run as the customer sees it today."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from game.challenges.periods import local_day
from game.events.models import Event
from game.ledger.models import EntryKind, LedgerEntry
from game.ledger.service import post_entry
from game.notifications.models import NotificationKind
from game.notifications.service import queue_notification
from game.rules.generation import bump
from game.sql import execute, fetch_one
from game.streaks.models import StreakPeriod, StreakSetting
from game.streaks.rules import (
    Counted,
    Milestone,
    Run,
    StreakConfig,
    StreakView,
    advance,
    period_key,
    reached,
    seen_on,
    validated,
)

SETTING_ID = 1


async def configure_streak(config: StreakConfig) -> StreakConfig:
    config = validated(config)
    async with in_transaction() as conn:
        await bump(conn)
        await StreakSetting.update_or_create(defaults=_columns(config), id=SETTING_ID, using_db=conn)
    return config


async def streak_config(conn: BaseDBAsyncClient | None = None) -> StreakConfig | None:
    """The programme's streak, or None while marketers have not configured one."""
    query = StreakSetting.filter(id=SETTING_ID)
    setting = await (query.using_db(conn) if conn else query).first()
    return _config_of(setting) if setting else None


def _columns(config: StreakConfig) -> dict[str, Any]:
    return {
        "period": config.period,
        "activity_types": list(config.activity_types),
        "freeze_days": config.freeze_days,
        "milestones": [{"length": m.length, "reward_points": m.reward_points} for m in config.milestones],
        "active": config.active,
    }


def _config_of(setting: StreakSetting) -> StreakConfig:
    return StreakConfig(
        period=setting.period,
        activity_types=tuple(setting.activity_types),
        freeze_days=setting.freeze_days,
        milestones=tuple(Milestone(int(m["length"]), int(m["reward_points"])) for m in setting.milestones),
        active=setting.active,
    )


@dataclass(frozen=True, slots=True)
class Reached:
    """A milestone an event's activity reached; its reward is posted after the event's other locks."""

    milestone: Milestone
    period: StreakPeriod
    run_start: date


@dataclass(frozen=True, slots=True)
class MilestoneReward:
    length: int
    points: int
    balance: int
    award_key: str


async def record_activity(
    conn: BaseDBAsyncClient, config: StreakConfig | None, event: Event, tz: ZoneInfo
) -> Reached | None:
    """Moves the event's customer's run, inside the worker's transaction; returns the milestone it reached.

    The caller holds the customer's row lock (`process_event` does), so no other transaction reads or writes
    this customer's streak meanwhile: one plain read, and a write only when the run moved.
    """
    if config is None or not config.active or event.type not in config.activity_types:
        return None
    run = await _stored_run(conn, event.customer_id, config.period)
    before = replace(run)
    counted = advance(run, local_day(event.occurred_at, tz), config.period, config.freeze_days)
    if run == before:
        return None  # late, or no later than the last activity of its period: nothing to write
    await _store_run(conn, event.customer_id, config.period, run)
    milestone = reached(config.milestones, run.length) if counted is Counted.NEW_PERIOD else None
    if milestone is None or run.run_start is None:
        return None
    return Reached(milestone, config.period, run.run_start)


async def reward_milestone(conn: BaseDBAsyncClient, event: Event, done: Reached) -> MilestoneReward | None:
    """Posts a reached milestone's reward once per run, and queues its notification."""
    run = period_key(done.run_start, done.period)
    award_key = f"streak:{event.customer_id}:{run}:{done.milestone.length}"
    # A marketer switching the period back and forth can start a new run on an old run's first period; the
    # key then names a reward already given, and posting it again would fail this job on every retry.
    if await LedgerEntry.filter(award_key=award_key).using_db(conn).exists():
        return None
    unit = "day" if done.period is StreakPeriod.DAILY else "week"
    posted = await post_entry(
        conn,
        customer_id=event.customer_id,
        delta=done.milestone.reward_points,
        kind=EntryKind.BONUS,
        reason=f"Streak milestone: {done.milestone.length} {unit}s in a row",
        award_key=award_key,
        event_id=event.id,
    )
    payload = {
        "length": done.milestone.length,
        "period": done.period.value,
        "points": done.milestone.reward_points,
    }
    await queue_notification(conn, event.customer_id, award_key, NotificationKind.STREAK_MILESTONE, payload)
    return MilestoneReward(
        done.milestone.length, done.milestone.reward_points, posted.balance_after, award_key
    )


_RUN_FIELDS = ("length", "best", "run_start", "last_active_on", "freezes_used")


async def _stored_run(conn: BaseDBAsyncClient | None, customer_id: UUID, period: StreakPeriod) -> Run:
    # Raw SQL, like the rest of the per-event path: the ORM's query building cost more CPU than the query.
    row = await fetch_one(
        f"SELECT period, {', '.join(_RUN_FIELDS)} FROM streak_state WHERE customer_id = $1",
        customer_id,
        conn=conn,
    )
    if row is None:
        return Run()
    # Counted in another period than the programme's now: days and weeks do not add up, so start afresh.
    if row["period"] != period.value:
        return Run()
    run_start, last_active_on = _date(row["run_start"]), _date(row["last_active_on"])
    return Run(row["length"], row["best"], run_start, last_active_on, row["freezes_used"])


def _date(value: date | str | None) -> date | None:
    # asyncpg returns dates, SQLite the ISO text tortoise stored.
    return date.fromisoformat(value) if isinstance(value, str) else value


async def _store_run(conn: BaseDBAsyncClient, customer_id: UUID, period: StreakPeriod, run: Run) -> None:
    values = [getattr(run, name) for name in _RUN_FIELDS]
    await execute(
        conn,
        f"INSERT INTO streak_state (customer_id, period, {', '.join(_RUN_FIELDS)}, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (customer_id) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in ("period", *_RUN_FIELDS, "updated_at")),
        customer_id,
        period.value,
        *values,
        datetime.now(UTC),
    )


async def customer_streak(customer_id: UUID, tz: ZoneInfo, now: datetime) -> StreakView | None:
    """The customer's streak as of `now`, or None while the programme has no active streak."""
    config = await streak_config()
    if config is None or not config.active:
        return None
    run = await _stored_run(None, customer_id, config.period)
    return seen_on(run, local_day(now, tz), config)
