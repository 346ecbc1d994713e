"""When is a challenge complete: the worker's side, one event at a time.

An event moves the progress of every live challenge whose rule mentions its type, for the period the event
falls in. Progress rows are locked while they move, and completion writes the reward through the ledger
under `challenge:<id>:<customer>:<period>`, so neither concurrent workers nor replays award twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from game.challenges.models import Challenge, ChallengeProgress, ChallengeStatus
from game.challenges.periods import local_day, period_at
from game.events.models import Event
from game.ledger.models import EntryKind
from game.ledger.service import post_entry
from game.rules.facts import facts_of
from game.rules.language import Rule, parse_rule
from game.rules.progress import advance, empty_progress, is_complete
from game.sql import execute


@dataclass(frozen=True, slots=True)
class Completion:
    challenge_id: int
    period: str
    points: int
    balance: int | None


async def challenges_for(event_type: str) -> list[Challenge]:
    live = await Challenge.filter(status=ChallengeStatus.ACTIVE)
    return [c for c in live if event_type in c.event_types]


async def evaluate(conn: BaseDBAsyncClient, event: Event, tz: ZoneInfo) -> list[Completion]:
    """Runs inside the worker's transaction for `event`; returns the challenges it completed."""
    facts = facts_of(event.type, event.payload)
    completions = []
    for challenge in await challenges_for(event.type):
        if event.occurred_at < challenge.starts_at or (
            challenge.ends_at and event.occurred_at >= challenge.ends_at
        ):
            continue
        rule = parse_rule(challenge.rule)
        period = period_at(
            challenge.recurrence, event.occurred_at, tz, challenge.starts_at, challenge.ends_at
        )
        progress = await _locked_progress(conn, challenge.id, event, period.key, rule)
        if progress.completed_at is not None:
            continue
        if not advance(rule, progress.steps, event.type, facts, local_day(event.occurred_at, tz)):
            continue
        balance = None
        if is_complete(rule, progress.steps):
            progress.completed_at = datetime.now(UTC)
            balance = await _reward(conn, challenge, event, period.key)
            completions.append(Completion(challenge.id, period.key, challenge.reward_points, balance))
        await progress.save(using_db=conn, update_fields=["steps", "completed_at", "updated_at"])
    return completions


async def _locked_progress(
    conn: BaseDBAsyncClient, challenge_id: int, event: Event, period: str, rule: Rule
) -> ChallengeProgress:
    # Insert-if-absent, then lock: two workers on two events of one customer meet on this row and queue.
    await execute(
        conn,
        "INSERT INTO challenge_progress (challenge_id, customer_id, period, steps, updated_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (challenge_id, customer_id, period) DO NOTHING",
        challenge_id,
        event.customer_id,
        period,
        empty_progress(rule),
        datetime.now(UTC),
    )
    return (
        await ChallengeProgress.select_for_update()
        .using_db(conn)
        .get(challenge_id=challenge_id, customer_id=event.customer_id, period=period)
    )


async def _reward(conn: BaseDBAsyncClient, challenge: Challenge, event: Event, period: str) -> int | None:
    if challenge.reward_points <= 0:
        return None
    title = challenge.title.get("en") or next(iter(challenge.title.values()))
    posted = await post_entry(
        conn,
        customer_id=event.customer_id,
        delta=challenge.reward_points,
        kind=EntryKind.BONUS,
        reason=f"Challenge completed: {title}"[:200],
        award_key=f"challenge:{challenge.id}:{event.customer_id}:{period}",
        event_id=event.id,
    )
    return posted.balance_after
