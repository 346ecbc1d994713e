"""Streaks: the programme's setting, a customer's run moved by one event at a time, milestone rewards through
the award path under `streak:<customer>:<run start>:<length>`, withdrawn when a refund takes away the
activity that reached them, and the run as the customer sees it today."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from game.awards import keys
from game.awards.keys import Reason
from game.awards.service import Award, Granted, Notice, grant, held, withdraw
from game.challenges.periods import local_day
from game.events.history import Counting, history
from game.events.models import Event
from game.events.reactions import Reacted, Situation
from game.ledger.live import granted_updates
from game.ledger.models import EntryKind
from game.notifications.models import NotificationKind
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
        "verified_only": config.verified_only,
    }


def _config_of(setting: StreakSetting) -> StreakConfig:
    return StreakConfig(
        period=setting.period,
        activity_types=tuple(setting.activity_types),
        freeze_days=setting.freeze_days,
        milestones=tuple(Milestone(int(m["length"]), int(m["reward_points"])) for m in setting.milestones),
        active=setting.active,
        verified_only=setting.verified_only,
    )


@dataclass(frozen=True, slots=True)
class Reached:
    """A milestone an event's activity reached."""

    milestone: Milestone
    period: StreakPeriod
    run_start: date


async def react(s: Situation) -> Reacted:
    """The streaks reaction: activity moves the run and pays its milestones; a refund in full takes the
    purchase's activity back, and the milestones the run no longer reaches."""
    config, reacted = s.rules.streak, Reacted()
    if config is None or not config.active:
        return reacted
    if s.facts is not None and (not config.verified_only or s.facts.get("verified") is True):
        done = await record_activity(s.conn, config, s.event, s.tz)
        granted = await reward_milestone(s.conn, s.event, done) if done else None
        if granted is not None:
            reacted.add(Reacted([granted], granted_updates(s.event.customer_id, [granted])))
    refunded = s.refunded
    if refunded is not None and refunded.remaining is None and refunded.event.type in config.activity_types:
        withdrawn = await _recount(s, config)
        reacted.add(Reacted(withdrawn, granted_updates(s.event.customer_id, withdrawn)))
    return reacted


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


async def reward_milestone(conn: BaseDBAsyncClient, event: Event, done: Reached) -> Granted | None:
    """Grants a reached milestone's reward once per run, with its notification."""
    key = keys.streak(event.customer_id, period_key(done.run_start, done.period), done.milestone.length)
    # A marketer switching the period back and forth can start a new run on an old run's first period; the
    # key then names a reward the customer holds already.
    if any(h.base_key == key for h in await held(conn, event.customer_id, Reason.STREAK)):
        return None
    unit = "day" if done.period is StreakPeriod.DAILY else "week"
    payload = {"length": done.milestone.length, "period": done.period.value}
    return await grant(
        conn,
        Award(
            customer_id=event.customer_id,
            points=done.milestone.reward_points,
            kind=EntryKind.BONUS,
            reason=Reason.STREAK,
            key=key,
            text=f"Streak milestone: {done.milestone.length} {unit}s in a row",
            event_id=event.id,
            notice=Notice(NotificationKind.STREAK_MILESTONE, payload),
            withdrawable=True,
        ),
    )


async def _recount(s: Situation, config: StreakConfig) -> list[Granted]:
    """Replays the customer's activity without the refunded purchase: the run becomes what the replay ends
    with, and of the milestones held, those the replay reaches fewer times than they are held are withdrawn,
    latest first (a refunded first day shifts the run's start, not what the customer achieved)."""
    customer_id = s.event.customer_id
    past = await history(
        s.conn, customer_id, frozenset(config.activity_types), Counting(None, everything=True)
    )
    run, reaches = Run(), Counter[int]()
    counted = [e for e in past if not config.verified_only or e.facts.get("verified") is True]
    for event in counted:
        if advance(run, event.day(s.tz), config.period, config.freeze_days) is Counted.NEW_PERIOD:
            milestone = reached(config.milestones, run.length)
            reaches[milestone.length if milestone else 0] += 1
    await _store_run(s.conn, customer_id, config.period, run)
    by_length: dict[int, list[str]] = {}
    for grant_held in await held(s.conn, customer_id, Reason.STREAK):
        by_length.setdefault(keys.streak_length(grant_held.base_key), []).append(grant_held.base_key)
    withdrawn = []
    for length, base_keys in by_length.items():
        for base_key in base_keys[reaches[length] :][::-1]:
            unit = "day" if config.period is StreakPeriod.DAILY else "week"
            taken = await withdraw(
                s.conn,
                customer_id,
                base_key,
                text=f"Streak milestone withdrawn: {length} {unit}s in a row",
                event_id=s.event.id,
                payload={"length": length, "period": config.period.value},
            )
            if taken is not None:
                withdrawn.append(taken)
    return withdrawn


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
