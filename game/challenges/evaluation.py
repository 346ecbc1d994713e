"""When is a challenge complete, and when does a completion no longer hold: the worker's side, one event at a
time.

An event moves the progress of every live challenge whose rule mentions its type, for the period the event
falls in. Progress rows are locked while they move, and completion grants the reward through the award path
under `challenge:<id>:<customer>:<period>`, so neither concurrent workers nor replays award twice.

A refund of a purchase a challenge counted replays the customer's events of that period without what was
refunded. Completions the replay no longer reaches are withdrawn, latest first: the reward and the badge grant
reversed, the budget given back, and the progress set to what the replay counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from game.awards import keys
from game.awards.keys import Reason
from game.awards.service import Award, Granted, Notice, grant, withdraw
from game.badges.evaluation import Leveled, grant_for_challenge, ungrant_for_challenge
from game.challenges.index import Live
from game.challenges.live import Moved, progress_update
from game.challenges.models import Challenge, Recurrence
from game.challenges.periods import Period, local_day, period_at
from game.customers.models import Customer
from game.customers.tags import in_audience
from game.events.history import Counting, Past, history
from game.events.models import Event
from game.events.reactions import Reacted, Situation
from game.ledger.live import granted_updates
from game.ledger.models import EntryKind
from game.notifications.models import NotificationKind
from game.progress_store import CHALLENGE_PROGRESS, Row, locked_rows, save_rows
from game.rules.language import Rule
from game.rules.progress import advance, empty_progress, is_complete
from game.sql import execute, fetch_all, fetch_one, placeholders
from game.validation import in_text


@dataclass(frozen=True, slots=True)
class Completion:
    challenge_id: int
    period: str
    award: Granted
    badges: Leveled


def _in_window(challenge: Challenge, moment: datetime) -> bool:
    return challenge.starts_at <= moment and (challenge.ends_at is None or moment < challenge.ends_at)


def takes_part(challenge: Challenge, moment: datetime, tags: list[str]) -> bool:
    """Does an event at `moment` of a customer with `tags` count for this challenge at all?"""
    return _in_window(challenge, moment) and in_audience(challenge.audience_tags, tags)


async def customer_tags(conn: BaseDBAsyncClient, customer_id: UUID) -> list[str]:
    customer = await Customer.filter(id=customer_id).using_db(conn).first()
    return customer.tags if customer else []


async def react(s: Situation) -> Reacted:
    """The challenges reaction: progress moves with the event, and a refund withdraws what no longer holds."""
    reacted = Reacted()
    customer_id = s.event.customer_id
    if s.facts is not None:
        moved, completions = await evaluate(
            s.conn, s.rules.challenges.matching(s.event.type, s.facts), s.event, s.facts, s.tags, s.tz
        )
        for c in completions:
            reacted.add(Reacted([c.award], granted_updates(customer_id, [c.award])))
            reacted.add(c.badges.reacted(customer_id))
        reacted.updates += [progress_update(customer_id, m) for m in moved]
    if s.refunded is not None:
        reacted.add(await _recount(s))
    return reacted


async def evaluate(
    conn: BaseDBAsyncClient,
    matching: list[Live],
    event: Event,
    facts: dict[str, Any],
    tags: list[str],
    tz: ZoneInfo,
) -> tuple[list[Moved], list[Completion]]:
    """Runs inside the worker's transaction for `event`, given the live challenges with a step the event
    passes; returns what it moved and what it completed."""
    # Decided without touching the database: the event must fall in the window and the audience.
    candidates = [live for live in matching if takes_part(live.challenge, event.occurred_at, tags)]
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


def _periods(candidates: list[Live], moment: datetime, tz: ZoneInfo) -> dict[int, Period]:
    # Many challenges share a recurrence and window: each distinct one is worked out once per event.
    shapes: dict[tuple[Recurrence, datetime, datetime | None], Period] = {}
    periods = {}
    for live in candidates:
        c = live.challenge
        shape = (c.recurrence, c.starts_at, c.ends_at)
        if shape not in shapes:
            shapes[shape] = period_at(c.recurrence, moment, tz, c.starts_at, c.ends_at)
        periods[c.id] = shapes[shape]
    return periods


async def move(
    conn: BaseDBAsyncClient, candidates: list[Live], event: Event, facts: dict[str, Any], tz: ZoneInfo
) -> list[Pending]:
    """Locks the candidates' progress rows for the event's periods, all at once, and advances them; the
    caller has checked each challenge's window and audience."""
    periods = {cid: period.key for cid, period in _periods(candidates, event.occurred_at, tz).items()}
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
        award = await grant(conn, _award(p.challenge, event, p.period, p.completions))
        badges = Leveled([], [])
        if p.challenge.reward_badge_id:
            await grant_for_challenge(conn, p.challenge.reward_badge_id, event.customer_id, event.id, badges)
        completions.append(Completion(p.challenge.id, p.period, award, badges))
        if p.completions >= p.challenge.max_completions_per_period:
            p.progress.counters["completed_at"] = datetime.now(UTC)
        else:
            p.progress.steps = empty_progress(p.rule)  # the next round of this period starts from zero
    await save_rows(conn, CHALLENGE_PROGRESS, [p.progress for p in pending])
    return [_moved(p.challenge, p.rule, p.period, p.progress) for p in pending], completions


def _moved(challenge: Challenge, rule: Rule, period: str, progress: Row) -> Moved:
    values = [min(v["value"], s.target) for v, s in zip(progress.steps, rule.steps, strict=True)]
    targets = [s.target for s in rule.steps]
    done = progress.counters["completed_at"] is not None
    return Moved(challenge.id, period, values, targets, done, challenge.title)


def _award(challenge: Challenge, event: Event, period: str, completion: int) -> Award:
    payload = {"challenge_id": challenge.id, "title": challenge.title, "period": period}
    return Award(
        customer_id=event.customer_id,
        points=challenge.reward_points,
        kind=EntryKind.BONUS,
        reason=Reason.CHALLENGE,
        key=keys.challenge(challenge.id, event.customer_id, period, completion),
        text=f"Challenge completed: {in_text(challenge.title, 'en')}"[:200],
        event_id=event.id,
        notice=Notice(NotificationKind.CHALLENGE_COMPLETED, payload),
        withdrawable=True,
    )


@dataclass(frozen=True, slots=True)
class Replayed:
    """A period's progress as the customer's history reaches it now."""

    completions: int
    steps: list[dict[str, Any]]


def replay(live: Live, past: list[Past], tz: ZoneInfo) -> Replayed:
    """The same moves as `move` and `settle`, over a period's events in the order they happened."""
    rule, limit = live.rule, live.challenge.max_completions_per_period
    steps, completions = empty_progress(rule), 0
    for event in past:
        if completions >= limit:
            break
        if advance(rule, steps, event.type, event.facts, event.day(tz)) and is_complete(rule, steps):
            completions += 1
            if completions < limit:
                steps = empty_progress(rule)
    return Replayed(completions, steps)


async def _recount(s: Situation) -> Reacted:
    """Withdraws the completions a refunded purchase made that its period's history no longer reaches."""
    assert s.refunded is not None
    purchase, facts, customer_id = s.refunded.event, s.refunded.facts, s.event.customer_id
    affected = [
        live
        for live in s.rules.challenges.matching(purchase.type, facts)
        if takes_part(live.challenge, purchase.occurred_at, s.tags)
    ]
    periods = _periods(affected, purchase.occurred_at, s.tz)
    wanted = {
        (live.challenge.id, periods[live.challenge.id].key): empty_progress(live.rule) for live in affected
    }
    rows = await locked_rows(s.conn, CHALLENGE_PROGRESS, customer_id, wanted)
    backfills = await _backfills(s.conn, [live.challenge for live in affected])
    reacted = Reacted()
    saved = []
    for live in affected:
        c, period = live.challenge, periods[live.challenge.id]
        progress = rows[(c.id, period.key)]
        counted = _counting(c, backfills.get(c.id))
        past = await history(
            s.conn, customer_id, live.rule.event_types, counted, period.starts_at, period.ends_at
        )
        now = replay(live, past, s.tz)
        held = int(progress.counters["completions"])
        if now.completions > held or (now.completions == held and now.steps == progress.steps):
            continue  # still holds, or the history finds more than was counted: a refund only takes back
        for completion in range(held, now.completions, -1):
            reacted.add(await _withdraw_completion(s, c, period.key, completion))
        progress.steps, progress.counters["completions"] = now.steps, min(held, now.completions)
        if progress.counters["completions"] < c.max_completions_per_period:
            progress.counters["completed_at"] = None
        saved.append(progress)
        reacted.updates.append(progress_update(customer_id, _moved(c, live.rule, period.key, progress)))
    await save_rows(s.conn, CHALLENGE_PROGRESS, saved)
    return reacted


async def _backfills(conn: BaseDBAsyncClient, challenges: list[Challenge]) -> dict[int, dict[str, Any]]:
    """Where the backfill of each of these challenges has got to, read now rather than from the rules
    snapshot (a batch moves it without a new generation), and after the progress rows are locked: a batch
    that moved one of them has committed its cursor with it, and one that has not yet will count its events
    after this recount."""
    ids = [c.id for c in challenges if c.backfill]
    if not ids:
        return {}
    rows = await fetch_all(
        conn,
        "SELECT id, backfilled_at, backfill_at, backfill_event_id FROM challenge "
        f"WHERE id IN ({placeholders(len(ids))})",
        *ids,
    )
    return {int(row["id"]): row for row in rows}


def _counting(challenge: Challenge, backfill: dict[str, Any] | None) -> Counting:
    """What the challenge has counted: its live events and, with a backfill, the past that it has reached."""
    c = challenge
    if backfill is None:
        return Counting(c.published_at, c.published_generation)
    if backfill["backfilled_at"] is not None:
        return Counting(c.published_at, c.published_generation, everything=True)
    at, event_id = backfill["backfill_at"], backfill["backfill_event_id"]
    reached = None if at is None or event_id is None else (at, int(event_id))
    return Counting(c.published_at, c.published_generation, backfilled_to=reached)


async def _withdraw_completion(s: Situation, challenge: Challenge, period: str, completion: int) -> Reacted:
    customer_id = s.event.customer_id
    withdrawn = await withdraw(
        s.conn,
        customer_id,
        keys.challenge(challenge.id, customer_id, period, completion),
        text=f"Challenge withdrawn: {in_text(challenge.title, 'en')}"[:200],
        event_id=s.event.id,
        payload={
            "challenge_id": challenge.id,
            "title": challenge.title,
            "period": period,
        },
    )
    if withdrawn is None:
        return Reacted()
    # The budget counted this completion: it is free for someone else again.
    await execute(
        s.conn,
        "UPDATE challenge SET completions_count = completions_count - 1, "
        "points_awarded = points_awarded - reward_points WHERE id = $1 AND completions_count > 0",
        challenge.id,
    )
    badges = Leveled([], [])
    if challenge.reward_badge_id:
        await ungrant_for_challenge(s.conn, challenge.reward_badge_id, customer_id, s.event.id, badges)
    return Reacted([withdrawn, *badges.awards], granted_updates(customer_id, [withdrawn, *badges.awards]))


def budget_spent(challenge: Challenge) -> bool:
    """No further completion fits the challenge's budgets: customers are no longer offered it. The same
    test as `_within_budget`'s, on counters as read (they shrink only when a completion is withdrawn)."""
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
