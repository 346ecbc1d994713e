"""Badges: what marketers configure, and what a customer sees of them (earned, and locked with progress)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from game.badges.errors import BadgeReason
from game.badges.levels import Level, measure, validate_levels
from game.badges.models import Badge, BadgeAward, BadgeProgress, BadgeStatus
from game.customers.tags import in_audience, validate_tags
from game.drafts import replace_draft
from game.errors import DomainError, ErrorCode, bad_input, not_found
from game.rules.generation import PerGeneration, bump
from game.rules.language import Rule, parse_rule
from game.rules.progress import empty_progress
from game.validation import icon, localized

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class BadgeInput:
    key: str
    name: dict[str, str]
    levels: list[Level]
    rule: Any = None
    description: dict[str, str] | None = None
    icon: str = ""
    audience_tags: list[str] = field(default_factory=list)


def _validated(data: BadgeInput) -> dict[str, Any]:
    if not _KEY.match(data.key):
        raise bad_input("key: lowercase letters, digits, '_' or '-', at most 64", "key")
    rule = None if data.rule is None else parse_rule(data.rule)
    return {
        "key": data.key,
        "name": localized(data.name, "name", 60, required=True),
        "description": localized(data.description, "description", 2000, required=False),
        "icon": icon(data.icon),
        "rule": rule.to_json() if rule else None,
        "levels": [level.to_json() for level in validate_levels(data.levels, rule)],
        "audience_tags": validate_tags(data.audience_tags, "audienceTags"),
    }


async def create_badge(data: BadgeInput) -> Badge:
    fields = _validated(data)
    try:
        async with in_transaction():
            return await Badge.create(**fields, status=BadgeStatus.DRAFT)
    except IntegrityError:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"a badge with key {data.key!r} exists",
            field="key",
            reason=BadgeReason.KEY_TAKEN,
        ) from None


async def update_badge(badge_id: int, data: BadgeInput) -> Badge:
    fields = _validated(data)
    try:
        return await replace_draft(
            Badge,
            badge_id,
            fields,
            "badge",
            unknown=BadgeReason.UNKNOWN_BADGE,
            not_draft=BadgeReason.NOT_DRAFT,
        )
    except IntegrityError:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"a badge with key {data.key!r} exists",
            field="key",
            reason=BadgeReason.KEY_TAKEN,
        ) from None


async def get_badge(badge_id: int) -> Badge:
    badge = await Badge.get_or_none(id=badge_id)
    if badge is None:
        raise not_found("no badge with this id", BadgeReason.UNKNOWN_BADGE)
    return badge


async def change_status(badge_id: int, target: BadgeStatus) -> Badge:
    """DRAFT to ACTIVE (publish), DRAFT or ACTIVE to ARCHIVED: earned levels stay, nothing more is earned."""
    allowed = {
        BadgeStatus.ACTIVE: {BadgeStatus.DRAFT},
        BadgeStatus.ARCHIVED: {BadgeStatus.DRAFT, BadgeStatus.ACTIVE},
    }
    async with in_transaction() as conn:
        await bump(conn)
        badge = await Badge.select_for_update().using_db(conn).get_or_none(id=badge_id)
        if badge is None:
            raise not_found("no badge with this id", BadgeReason.UNKNOWN_BADGE)
        if badge.status not in allowed.get(target, set()):
            verb = "publish" if target is BadgeStatus.ACTIVE else "archive"
            refusal = (
                BadgeReason.ARCHIVED
                if badge.status is BadgeStatus.ARCHIVED
                else BadgeReason.ALREADY_PUBLISHED
            )
            raise DomainError(
                ErrorCode.CONFLICT, f"cannot {verb} a badge that is {badge.status}", reason=refusal
            )
        badge.status = target
        if target is BadgeStatus.ACTIVE:
            badge.published_at = datetime.now(UTC)
        await badge.save(using_db=conn, update_fields=["status", "published_at", "updated_at"])
    return badge


async def badges_by_id(badge_ids: list[int]) -> dict[int, Badge]:
    """Published badges from the snapshot (a challenge's reward badge, on every home screen); drafts, which
    only marketers see, from the database."""
    published = {badge.id: badge for badge, _, _ in await _published.get()}
    found = {bid: published[bid] for bid in badge_ids if bid in published}
    missing = [bid for bid in badge_ids if bid not in found]
    if missing:
        found |= {b.id: b for b in await Badge.filter(id__in=missing)}
    return found


async def holders(badge_ids: list[int]) -> dict[int, dict[int, int]]:
    """How many customers hold each level of each badge: {badge id: {level: customers}}."""
    rows = (
        await BadgeAward.filter(badge_id__in=badge_ids)
        .annotate(customers=Count("id"))
        .group_by("badge_id", "level")
        .values("badge_id", "level", "customers")
    )
    counts: dict[int, dict[int, int]] = {}
    for row in rows:
        counts.setdefault(row["badge_id"], {})[row["level"]] = row["customers"]
    return counts


async def list_badges(status: BadgeStatus | None = None) -> list[Badge]:
    query = Badge.all() if status is None else Badge.filter(status=status)
    return await query.order_by("id")


@dataclass(frozen=True, slots=True)
class EarnedLevel:
    level: int
    earned_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerBadge:
    badge: Badge
    levels: list[Level]
    earned: list[EarnedLevel]
    value: int

    @property
    def next_level(self) -> Level | None:
        return self.levels[len(self.earned)] if len(self.earned) < len(self.levels) else None


Published = tuple[Badge, Rule | None, list[Level]]


async def _load_published() -> list[Published]:
    badges = await Badge.filter(status__in=[BadgeStatus.ACTIVE, BadgeStatus.ARCHIVED]).order_by("id")
    return [
        (b, parse_rule(b.rule) if b.rule else None, [Level.from_json(x) for x in b.levels]) for b in badges
    ]


# The badges customers may see, their rules and levels parsed: only drafts can be edited, and publishing or
# archiving one moves the rules generation (game/rules/generation.py).
_published = PerGeneration(_load_published)


async def customer_badges(customer_id: UUID, tags: list[str], today: date) -> list[CustomerBadge]:
    """Every badge the customer holds a level of, and every live one they could earn, with their progress;
    both queries are scoped to the customer in the query itself."""
    awards: dict[int, list[EarnedLevel]] = {}
    for award in await BadgeAward.filter(customer_id=customer_id).order_by("level"):
        awards.setdefault(award.badge_id, []).append(EarnedLevel(award.level, award.earned_at))
    progress = {p.badge_id: p for p in await BadgeProgress.filter(customer_id=customer_id)}
    shown = []
    for badge, rule, levels in await _published.get():
        held = awards.get(badge.id, [])
        live = badge.status is BadgeStatus.ACTIVE and in_audience(badge.audience_tags, tags)
        if not held and not live:
            continue
        row = progress.get(badge.id)
        steps = row.steps if row else (empty_progress(rule) if rule else [])
        # A rolling window can fall back below a level already earned: the value is today's, levels stay.
        value = measure(rule, steps, row.grants if row else 0, today)
        shown.append(CustomerBadge(badge, levels, held, min(value, levels[-1].target)))
    return shown
