"""Challenges: what marketers configure, and what a customer sees of them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from arq.connections import ArqRedis
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from game.badges.models import Badge, BadgeStatus
from game.challenges.backfill import enqueue_backfill
from game.challenges.errors import ChallengeReason
from game.challenges.evaluation import budget_spent
from game.challenges.models import Challenge, ChallengeProgress, ChallengeStatus, Recurrence
from game.challenges.periods import local_day, period_on
from game.customers.tags import in_audience, validate_tags
from game.drafts import replace_draft
from game.errors import DomainError, ErrorCode, bad_input, not_found
from game.rules.generation import PerGeneration, bump
from game.rules.language import Rule, parse_rule
from game.rules.progress import empty_progress, value_on
from game.sql import fetch_all, placeholders
from game.validation import bounded, icon, localized, optional

MAX_REWARD_POINTS = 1_000_000


@dataclass(frozen=True, slots=True)
class ChallengeInput:
    title: dict[str, str]
    rule: Any
    starts_at: datetime
    ends_at: datetime | None = None
    description: dict[str, str] | None = None
    icon: str = ""
    recurrence: Recurrence = Recurrence.NONE
    reward_points: int = 0
    audience_tags: list[str] = field(default_factory=list)
    max_completions_per_period: int = 1
    budget_completions: int | None = None
    budget_points: int | None = None
    backfill: bool = False
    reward_badge_id: int | None = None


def _validated(data: ChallengeInput) -> dict[str, Any]:
    rule = parse_rule(data.rule)
    for name, moment in (("startsAt", data.starts_at), ("endsAt", data.ends_at)):
        if moment is not None and moment.tzinfo is None:
            raise bad_input(f"{name} must carry a UTC offset", name)
    if data.ends_at is not None and data.ends_at <= data.starts_at:
        raise bad_input("endsAt must be after startsAt", "endsAt")
    if not 0 <= data.reward_points <= MAX_REWARD_POINTS:
        raise bad_input(f"rewardPoints must be between 0 and {MAX_REWARD_POINTS}", "rewardPoints")
    return {
        "title": localized(data.title, "title", 120, required=True),
        "description": localized(data.description, "description", 2000, required=False),
        "icon": icon(data.icon),
        "starts_at": data.starts_at.astimezone(UTC),
        "ends_at": data.ends_at.astimezone(UTC) if data.ends_at else None,
        "recurrence": data.recurrence,
        "rule": rule.to_json(),
        "reward_points": data.reward_points,
        "reward_badge_id": data.reward_badge_id,
        "audience_tags": validate_tags(data.audience_tags, "audienceTags"),
        "max_completions_per_period": bounded(
            data.max_completions_per_period, 1, 1000, "maxCompletionsPerPeriod"
        ),
        "budget_completions": optional(data.budget_completions, 1, 100_000_000, "budgetCompletions"),
        "backfill": data.backfill,
        "budget_points": optional(data.budget_points, 1, 10_000_000_000, "budgetPoints"),
    }


async def _check_reward_badge(badge_id: int | None) -> None:
    if badge_id is None:
        return
    badge = await Badge.get_or_none(id=badge_id)
    if badge is None or badge.status is BadgeStatus.ARCHIVED:
        raise bad_input(
            "rewardBadgeId: no such badge (or it is archived)",
            "rewardBadgeId",
            reason=ChallengeReason.UNKNOWN_REWARD_BADGE,
        )
    if badge.rule is not None:
        raise bad_input(
            "rewardBadgeId: this badge is earned by its own rule; challenges grant badges without one",
            "rewardBadgeId",
            reason=ChallengeReason.REWARD_BADGE_HAS_RULE,
        )


async def create_challenge(data: ChallengeInput) -> Challenge:
    fields = _validated(data)
    await _check_reward_badge(data.reward_badge_id)
    return await Challenge.create(**fields, status=ChallengeStatus.DRAFT)


async def get_challenge(challenge_id: int) -> Challenge:
    challenge = await Challenge.get_or_none(id=challenge_id)
    if challenge is None:
        raise not_found("no challenge with this id", ChallengeReason.UNKNOWN_CHALLENGE)
    return challenge


async def update_challenge(challenge_id: int, data: ChallengeInput) -> Challenge:
    fields = _validated(data)
    await _check_reward_badge(data.reward_badge_id)
    return await replace_draft(
        Challenge,
        challenge_id,
        fields,
        "challenge",
        unknown=ChallengeReason.UNKNOWN_CHALLENGE,
        not_draft=ChallengeReason.NOT_DRAFT,
    )


class Action(StrEnum):
    PUBLISH = "publish"
    PAUSE = "pause"
    ARCHIVE = "archive"


_TRANSITIONS: dict[Action, tuple[set[ChallengeStatus], ChallengeStatus]] = {
    Action.PUBLISH: ({ChallengeStatus.DRAFT, ChallengeStatus.PAUSED}, ChallengeStatus.ACTIVE),
    Action.PAUSE: ({ChallengeStatus.ACTIVE}, ChallengeStatus.PAUSED),
    Action.ARCHIVE: (
        {ChallengeStatus.DRAFT, ChallengeStatus.ACTIVE, ChallengeStatus.PAUSED},
        ChallengeStatus.ARCHIVED,
    ),
}


def _refusal(action: Action, status: ChallengeStatus) -> ChallengeReason:
    """Why `action` does not apply to a challenge in `status` (see _TRANSITIONS)."""
    if status is ChallengeStatus.ARCHIVED:
        return ChallengeReason.ARCHIVED
    return ChallengeReason.ALREADY_PUBLISHED if action is Action.PUBLISH else ChallengeReason.NOT_ACTIVE


async def change_status(challenge_id: int, action: Action, arq: ArqRedis) -> Challenge:
    allowed, target = _TRANSITIONS[action]
    async with in_transaction() as conn:
        generation = await bump(conn)
        challenge = await Challenge.select_for_update().using_db(conn).get_or_none(id=challenge_id)
        if challenge is None:
            raise not_found("no challenge with this id", ChallengeReason.UNKNOWN_CHALLENGE)
        if challenge.status not in allowed:
            raise DomainError(
                ErrorCode.CONFLICT,
                f"cannot {action.value} a challenge that is {challenge.status.value}",
                reason=_refusal(action, challenge.status),
            )
        if target is ChallengeStatus.ACTIVE and challenge.reward_badge_id is not None:
            badge = await Badge.filter(id=challenge.reward_badge_id).using_db(conn).first()
            if badge is None or badge.status is not BadgeStatus.ACTIVE:
                raise DomainError(
                    ErrorCode.CONFLICT,
                    "publish the challenge's reward badge first",
                    reason=ChallengeReason.REWARD_BADGE_NOT_PUBLISHED,
                )
        challenge.status = target
        if target is ChallengeStatus.ACTIVE and challenge.published_at is None:
            challenge.published_at, challenge.published_generation = datetime.now(UTC), generation
        await challenge.save(
            using_db=conn, update_fields=["status", "published_at", "published_generation", "updated_at"]
        )
    if challenge.status is ChallengeStatus.ACTIVE and challenge.backfill and challenge.backfilled_at is None:
        await enqueue_backfill(arq, challenge.id)
    return challenge


async def list_challenges(status: ChallengeStatus | None = None) -> list[Challenge]:
    query = Challenge.all() if status is None else Challenge.filter(status=status)
    return await query.order_by("-id")


class View(StrEnum):
    ACTIVE = "active"
    UPCOMING = "upcoming"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class StepView:
    event: str
    aggregate: str
    target: int
    value: int


@dataclass(frozen=True, slots=True)
class CustomerChallenge:
    challenge: Challenge
    period: str
    period_ends_at: datetime | None
    steps: list[StepView]
    completed_at: datetime | None
    completions: int = 0


# Rules parsed for customers' reads, by challenge and edit: a challenge's rule changes only with an edit of
# its draft (which moves updated_at), so each is parsed once per process rather than on every request.
_parsed: dict[tuple[int, datetime], Rule] = {}


def rule_of(challenge: Challenge) -> Rule:
    key = (challenge.id, challenge.updated_at)
    rule = _parsed.get(key)
    if rule is None:
        if len(_parsed) > 10_000:  # old edits of many challenges: start afresh rather than grow
            _parsed.clear()
        rule = _parsed[key] = parse_rule(challenge.rule)
    return rule


def _steps(challenge: Challenge, progress: list[dict[str, Any]] | None, today: date) -> list[StepView]:
    rule = rule_of(challenge)
    progress = progress or empty_progress(rule)
    return [
        StepView(s.event, s.aggregate.value, s.target, value_on(s, p, today))
        for s, p in zip(rule.steps, progress, strict=True)
    ]


async def _load_active() -> list[Challenge]:
    return await Challenge.filter(status=ChallengeStatus.ACTIVE).order_by("starts_at", "id")


# The active challenges as customers' lists read them: the rules generation moves with every publication,
# pause and archive (game/rules/generation.py).
_active = PerGeneration(_load_active)


async def _live_challenges() -> list[Challenge]:
    """The active challenges in list order. Budget counters move with every completion, so those are read
    fresh."""
    challenges = await _active.get()
    budgeted = [c for c in challenges if c.budget_completions is not None or c.budget_points is not None]
    if budgeted:
        counters = {
            r["id"]: r
            for r in await Challenge.filter(id__in=[c.id for c in budgeted]).values(
                "id", "completions_count", "points_awarded"
            )
        }
        for c in budgeted:
            if c.id in counters:
                c.completions_count = counters[c.id]["completions_count"]
                c.points_awarded = counters[c.id]["points_awarded"]
    return challenges


async def _progress_of(customer_id: UUID, challenge_ids: list[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """The customer's progress rows of these challenges, by (challenge, period). Plain SQL: the home screen
    reads one per live challenge on every request, and building the query cost more than running it."""
    if not challenge_ids:
        return {}
    listed = placeholders(len(challenge_ids), first=2)
    rows = await fetch_all(
        get_connection("default"),
        "SELECT challenge_id, period, steps, completions, completed_at FROM challenge_progress"
        f" WHERE customer_id = $1 AND challenge_id IN ({listed})",
        customer_id,
        *challenge_ids,
    )
    return {(int(row["challenge_id"]), row["period"]): row for row in rows}


async def customer_challenges(
    customer_id: UUID, tags: list[str], view: View, tz_name: str, now: datetime
) -> list[CustomerChallenge]:
    """The signed-in customer's challenges; the progress query is scoped to them in the query itself."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tz_name)
    today = local_day(now, tz)
    if view is View.COMPLETED:
        rows = (
            await ChallengeProgress.filter(customer_id=customer_id, completions__gt=0)
            .select_related("challenge")
            .order_by("-updated_at")
        )
        return [
            CustomerChallenge(
                p.challenge,
                p.period,
                None,
                _steps(p.challenge, p.steps, today),
                p.completed_at,
                p.completions,
            )
            for p in rows
        ]
    live = [
        c
        for c in await _live_challenges()
        # A spent budget ends the challenge for everyone who has not completed it: nothing left to win.
        if in_audience(c.audience_tags, tags) and not budget_spent(c)
    ]
    if view is View.UPCOMING:
        return [
            CustomerChallenge(c, "", None, _steps(c, None, today), None) for c in live if c.starts_at > now
        ]
    current = [c for c in live if c.starts_at <= now and (c.ends_at is None or now < c.ends_at)]
    periods = {c.id: period_on(c.recurrence, today, tz, c.starts_at, c.ends_at) for c in current}
    stored = await _progress_of(customer_id, list(periods))
    result = []
    for c in current:
        period = periods[c.id]
        progress = stored.get((c.id, period.key))
        if progress is not None and progress["completed_at"] is not None:
            continue
        done = int(progress["completions"]) if progress else 0
        steps = _steps(c, json.loads(progress["steps"]) if progress else None, today)
        result.append(CustomerChallenge(c, period.key, period.ends_at, steps, None, done))
    return result
