"""Backfill: a challenge published with `backfill` also counts the events of its window recorded before.

Events processed before publication were evaluated without this challenge; later ones are evaluated by
`process_event` with it. Each event is stamped with the rules generation it was evaluated with, and the
publication with the generation it made (game/rules/generation.py), so the backfill takes exactly the
window's events stamped with an earlier one, in the order they happened, once.

It goes a batch at a time, each batch one transaction with the challenge row locked that also moves the
challenge's cursor (`backfill_at`, `backfill_event_id`), and sets `backfilled_at` after the last: a run
killed half-way loses at most its open batch, and the next run goes on from the cursor. A refund's recount
while it runs replays only the past the cursor has reached (evaluation.py `_counting`): the rest is still
the backfill's to count, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from arq.connections import ArqRedis
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from game.after_commit import best_effort
from game.challenges.evaluation import customer_tags, move, settle
from game.challenges.index import Live
from game.challenges.models import Challenge, ChallengeStatus
from game.customers.tags import in_audience
from game.events.history import facts_now
from game.events.models import Event
from game.events.queue import BACKFILL_CHALLENGE
from game.leaderboards.engine import count_posted
from game.leaderboards.ranking import Standing
from game.rules.language import parse_rule
from game.rules.progress import matches


@dataclass(frozen=True, slots=True)
class Batch:
    counted: int
    done: bool
    # The keys of the notifications its completions queued, for delivery after commit.
    notifications: list[str] = field(default_factory=list)
    last_event_id: int | None = None
    # The scores its awards moved on the boards, to mirror after commit.
    standings: list[Standing] = field(default_factory=list)


async def enqueue_backfill(arq: ArqRedis, challenge_id: int, after_event_id: int | None = None) -> None:
    # A job id per position: a finished job's kept result must not block the job that goes on from there.
    job_id = f"backfill:{challenge_id}" + (f":after:{after_event_id}" if after_event_id else "")
    # With Redis down, the sweeper hands the backfill over once it is back (unfinished_backfills).
    await best_effort(
        f"enqueueing {job_id}", arq.enqueue_job(BACKFILL_CHALLENGE, challenge_id, _job_id=job_id)
    )


async def unfinished_backfills(older_than: timedelta) -> list[tuple[int, int | None]]:
    """Live challenges published with backfill longer ago than `older_than` that have not finished it:
    (challenge id, the last event it counted)."""
    rows = Challenge.filter(
        status=ChallengeStatus.ACTIVE,
        backfill=True,
        backfilled_at=None,
        published_at__lt=datetime.now(UTC) - older_than,
    )
    return [(c.id, c.backfill_event_id) for c in await rows.order_by("id")]


def _evaluated_without(challenge: Challenge) -> Q:
    """The events the engine evaluated before the challenge went live."""
    if challenge.published_generation is None:  # published before generations were stamped (migration 0010)
        return Q(processed_at__lt=challenge.published_at)
    # Unstamped events were processed before generations existed, so before this publication.
    return Q(processed_at__not_isnull=True) & (
        Q(rules_generation__lt=challenge.published_generation) | Q(rules_generation__isnull=True)
    )


async def backfill_batch(challenge_id: int, tz: ZoneInfo, size: int) -> Batch:
    """Counts the next `size` events at most; `done` once there is nothing (more) to do."""
    async with in_transaction() as conn:
        challenge = await Challenge.select_for_update().using_db(conn).get_or_none(id=challenge_id)
        if (
            challenge is None
            or not challenge.backfill
            or challenge.backfilled_at is not None
            or challenge.published_at is None
            or challenge.status is not ChallengeStatus.ACTIVE
        ):
            return Batch(0, done=True)
        rule = parse_rule(challenge.rule)
        live = Live(challenge, rule)
        query = Event.filter(type__in=sorted(rule.event_types), occurred_at__gte=challenge.starts_at)
        query = query.using_db(conn).filter(_evaluated_without(challenge))
        if challenge.ends_at is not None:
            query = query.filter(occurred_at__lt=challenge.ends_at)
        if challenge.backfill_at is not None:
            at, after = challenge.backfill_at, challenge.backfill_event_id
            query = query.filter(Q(occurred_at__gt=at) | Q(occurred_at=at, id__gt=after))
        events = await query.order_by("occurred_at", "id").limit(size)
        tags: dict[UUID, list[str]] = {}
        counted, keys = 0, []
        # As the engine counts them now: what is left of a refunded purchase, nothing of a withdrawn event.
        facts_by_event = await facts_now(conn, events)
        for event in events:
            if event.customer_id not in tags:
                tags[event.customer_id] = await customer_tags(conn, event.customer_id)
            if not in_audience(challenge.audience_tags, tags[event.customer_id]):
                continue
            facts = facts_by_event[event.id]
            if facts is not None and any(matches(step, event.type, facts) for step in rule.steps):
                _, completions = await settle(conn, event, await move(conn, [live], event, facts, tz))
                keys += [award.key for c in completions for award in [c.award, *c.badges.awards]]
            counted += 1
        standings = await count_posted(conn, keys, tz)
        done = len(events) < size
        if events:
            challenge.backfill_at, challenge.backfill_event_id = events[-1].occurred_at, events[-1].id
        if done:
            challenge.backfilled_at = datetime.now(UTC)
        await challenge.save(
            using_db=conn, update_fields=["backfill_at", "backfill_event_id", "backfilled_at", "updated_at"]
        )
    return Batch(counted, done, keys, events[-1].id if events else None, standings)
