"""When is a challenge complete: the worker's side, one event at a time.

An event moves the progress of every live challenge whose rule mentions its type, for the period the event
falls in. Progress rows are locked while they move, and completion writes the reward through the ledger
under `challenge:<id>:<customer>:<period>`, so neither concurrent workers nor replays award twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from game.badges.evaluation import Earned, grant
from game.challenges.index import Live
from game.challenges.models import Challenge, Recurrence
from game.challenges.periods import local_day, period_at
from game.customers.models import Customer
from game.customers.tags import in_audience
from game.events.models import Event
from game.ledger.models import EntryKind
from game.ledger.service import post_entry
from game.notifications.models import NotificationKind
from game.notifications.service import queue_notification
from game.progress_store import CHALLENGE_PROGRESS, Row, locked_rows, save_rows
from game.rules.language import Rule
from game.rules.progress import advance, empty_progress, is_complete, matches
from game.sql import fetch_one
from game.validation import in_text


@dataclass(frozen=True, slots=True)
class Completion:
    challenge_id: int
    period: str
    points: int
    balance: int | None
    award_key: str
    badges: tuple[Earned, ...] = ()


@dataclass(frozen=True, slots=True)
class Moved:
    """A progress that an event moved, for the live `challengeProgress` update."""

    challenge_id: int
    period: str
    values: list[int]
    targets: list[int]
    completed: bool


def _in_window(challenge: Challenge, moment: datetime) -> bool:
    return challenge.starts_at <= moment and (challenge.ends_at is None or moment < challenge.ends_at)


async def customer_tags(conn: BaseDBAsyncClient, customer_id: UUID) -> list[str]:
    customer = await Customer.filter(id=customer_id).using_db(conn).first()
    return customer.tags if customer else []


async def evaluate(
    conn: BaseDBAsyncClient,
    live_challenges: list[Live],
    event: Event,
    facts: dict[str, Any],
    tags: list[str],
    tz: ZoneInfo,
) -> tuple[list[Moved], list[Completion]]:
    """Runs inside the worker's transaction for `event`; returns what it moved and what it completed."""
    candidates = [
        live
        for live in live_challenges
        # Decided without touching the database: the event must pass a step, the window and the audience.
        if any(matches(step, event.type, facts) for step in live.rule.steps)
        and _in_window(live.challenge, event.occurred_at)
        and in_audience(live.challenge.audience_tags, tags)
    ]
    pending = await move(conn, candidates, event, facts, tz)
    return await settle(conn, event, pending)


@dataclass(slots=True)
class Pending:
    """A progress row this event moved, locked and not yet saved."""

    challenge: Challenge
    rule: Rule
    period: str
    progress: Row

    @property
    def completions(self) -> int:
        return int(self.progress.counters["completions"])


async def move(
    conn: BaseDBAsyncClient, candidates: list[Live], event: Event, facts: dict[str, Any], tz: ZoneInfo
) -> list[Pending]:
    """Locks the candidates' progress rows for the event's periods, all at once, and advances them; the
    caller has checked each challenge's window and audience."""
    # Many challenges share a recurrence and window: each distinct one is worked out once per event.
    keys: dict[tuple[Recurrence, datetime, datetime | None], str] = {}
    periods = {}
    for live in candidates:
        c = live.challenge
        shape = (c.recurrence, c.starts_at, c.ends_at)
        if shape not in keys:
            keys[shape] = period_at(c.recurrence, event.occurred_at, tz, c.starts_at, c.ends_at).key
        periods[c.id] = keys[shape]
    wanted = {
        (live.challenge.id, periods[live.challenge.id]): empty_progress(live.rule) for live in candidates
    }
    rows = await locked_rows(conn, CHALLENGE_PROGRESS, event.customer_id, wanted)
    day = local_day(event.occurred_at, tz)
    pending = []
    for live in candidates:
        progress = rows[(live.challenge.id, periods[live.challenge.id])]
        if progress.counters["completed_at"] is None and advance(
            live.rule, progress.steps, event.type, facts, day
        ):
            pending.append(Pending(live.challenge, live.rule, periods[live.challenge.id], progress))
    return pending


async def settle(
    conn: BaseDBAsyncClient, event: Event, pending: list[Pending]
) -> tuple[list[Moved], list[Completion]]:
    """Budgets, rewards and saves, after every progress lock is held.

    Progress rows are locked first, then challenge rows (budgets, in challenge order), then the customer's
    balance and badge rows (rewards). `process_event` also holds the customer's row throughout, so two
    events of one customer never interleave; a backfill, which does not, can still meet `process_event` on
    a challenge row, and the deadlock PostgreSQL then reports is retried by the job that lost.
    """
    granted = [
        p
        for p in pending
        if is_complete(p.rule, p.progress.steps) and await _within_budget(conn, p.challenge.id)
    ]
    completions = []
    for p in granted:
        p.progress.counters["completions"] += 1
        key = _award_key(p.challenge, event, p.period, p.completions)
        balance = await _reward(conn, p.challenge, event, key)
        badge_id = p.challenge.reward_badge_id
        badges = await grant(conn, badge_id, event.customer_id, event.id) if badge_id else []
        completion = Completion(
            p.challenge.id, p.period, p.challenge.reward_points, balance, key, tuple(badges)
        )
        await _notify(conn, event.customer_id, p.challenge, completion)
        completions.append(completion)
        if p.completions >= p.challenge.max_completions_per_period:
            p.progress.counters["completed_at"] = datetime.now(UTC)
        else:
            p.progress.steps = empty_progress(p.rule)  # the next round of this period starts from zero
    await save_rows(conn, CHALLENGE_PROGRESS, [p.progress for p in pending])
    moved = []
    for p in pending:
        values = [min(v["value"], s.target) for v, s in zip(p.progress.steps, p.rule.steps, strict=True)]
        targets = [s.target for s in p.rule.steps]
        done = p.progress.counters["completed_at"] is not None
        moved.append(Moved(p.challenge.id, p.period, values, targets, done))
    return moved, completions


def budget_spent(challenge: Challenge) -> bool:
    """No further completion fits the challenge's budgets: customers are no longer offered it. The same
    test as `_within_budget`'s, on counters as read (they only grow, so "spent" is never premature)."""
    c = challenge
    return (c.budget_completions is not None and c.completions_count + 1 > c.budget_completions) or (
        c.budget_points is not None and c.points_awarded + c.reward_points > c.budget_points
    )


async def _within_budget(conn: BaseDBAsyncClient, challenge_id: int) -> bool:
    """Counts one completion against the challenge's budgets, or refuses it when they are spent.

    One conditional UPDATE: it locks the challenge row (FOR NO KEY UPDATE, which does not wait for the
    key-share lock this transaction's progress rows hold on it), so completions by different customers at
    once cannot overspend. A refused completion leaves the progress full but unrewarded (no later event can
    move it), and the customer's challenges no longer show the challenge: see `budget_spent`.
    """
    row = await fetch_one(
        "UPDATE challenge SET completions_count = completions_count + 1, "
        "points_awarded = points_awarded + reward_points WHERE id = $1 "
        "AND (budget_completions IS NULL OR completions_count + 1 <= budget_completions) "
        "AND (budget_points IS NULL OR points_awarded + reward_points <= budget_points) RETURNING id",
        challenge_id,
        conn=conn,
    )
    return row is not None


async def _notify(
    conn: BaseDBAsyncClient, customer_id: UUID, challenge: Challenge, completion: Completion
) -> None:
    payload = {
        "challenge_id": challenge.id,
        "title": challenge.title,
        "period": completion.period,
        "points": completion.points,
        "badges": [{"badge_id": b.badge_id, "level": b.level} for b in completion.badges],
    }
    await queue_notification(
        conn, customer_id, completion.award_key, NotificationKind.CHALLENGE_COMPLETED, payload
    )


def _award_key(challenge: Challenge, event: Event, period: str, completions: int) -> str:
    key = f"challenge:{challenge.id}:{event.customer_id}:{period}"
    return key if completions == 1 else f"{key}:{completions}"


async def _reward(conn: BaseDBAsyncClient, challenge: Challenge, event: Event, award_key: str) -> int | None:
    if challenge.reward_points <= 0:
        return None
    title = in_text(challenge.title, "en")
    posted = await post_entry(
        conn,
        customer_id=event.customer_id,
        delta=challenge.reward_points,
        kind=EntryKind.BONUS,
        reason=f"Challenge completed: {title}"[:200],
        award_key=award_key,
        event_id=event.id,
    )
    return posted.balance_after
