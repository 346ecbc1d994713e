"""When is a badge level earned: the worker's side, inside the transaction that processes an event.

A rule badge moves with the events its rule matches; a challenge's badge moves with each completion of the
challenge. Either way the customer's progress row is locked while it moves, each level is written once
(`badge_award` is unique per badge, customer and level) and its reward goes through the ledger under
`badge:<id>:<customer>:<level>`, so neither replays nor concurrent workers earn a level twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from game.badges.index import LiveBadge
from game.badges.levels import Level, measure, reached
from game.badges.models import Badge, BadgeStatus
from game.events.models import Event
from game.ledger.models import EntryKind
from game.ledger.service import post_entry
from game.notifications.models import NotificationKind
from game.notifications.service import queue_notification
from game.progress_store import BADGE_PROGRESS, Row, locked_rows, save_rows
from game.rules.progress import advance, empty_progress, matches
from game.sql import execute
from game.validation import in_text


@dataclass(frozen=True, slots=True)
class Earned:
    """A badge level a customer just earned."""

    badge_id: int
    level: int
    name: str
    points: int
    balance: int | None
    award_key: str


async def evaluate_badges(
    conn: BaseDBAsyncClient,
    live_badges: list[LiveBadge],
    event: Event,
    facts: dict[str, Any],
    day: date,
    admits: Callable[[list[str]], bool],
) -> list[Earned]:
    candidates = [
        live
        for live in live_badges
        # Decided without touching the database.
        if any(matches(step, event.type, facts) for step in live.rule.steps)
        and admits(live.badge.audience_tags)
    ]
    wanted = {(live.badge.id,): empty_progress(live.rule) for live in candidates}
    rows = await locked_rows(conn, BADGE_PROGRESS, event.customer_id, wanted)
    earned: list[Earned] = []
    moved = []
    for live in candidates:
        progress = rows[(live.badge.id,)]
        if progress.counters["level"] >= len(live.levels):
            continue  # every level earned: nothing left to count
        if not advance(live.rule, progress.steps, event.type, facts, day):
            continue
        value = measure(live.rule, progress.steps, progress.counters["grants"], None)
        earned += await _level_up(conn, live.badge, live.levels, progress, event.customer_id, value, event.id)
        moved.append(progress)
    await save_rows(conn, BADGE_PROGRESS, moved)
    return earned


async def grant(conn: BaseDBAsyncClient, badge_id: int, customer_id: UUID, event_id: int) -> list[Earned]:
    """One more towards a challenge's badge; archived badges are granted no more."""
    badge = await Badge.filter(id=badge_id).using_db(conn).first()
    if badge is None or badge.status is not BadgeStatus.ACTIVE or badge.rule is not None:
        return []
    levels = [Level.from_json(x) for x in badge.levels]
    rows = await locked_rows(conn, BADGE_PROGRESS, customer_id, {(badge.id,): []})
    progress = rows[(badge.id,)]
    progress.counters["grants"] += 1
    value = progress.counters["grants"]
    earned = await _level_up(conn, badge, levels, progress, customer_id, value, event_id)
    await save_rows(conn, BADGE_PROGRESS, [progress])
    return earned


async def _level_up(
    conn: BaseDBAsyncClient,
    badge: Badge,
    levels: list[Level],
    progress: Row,
    customer_id: UUID,
    value: int,
    event_id: int,
) -> list[Earned]:
    """Awards every level `value` reaches that the customer does not hold yet, lowest first."""
    earned = []
    for number in range(progress.counters["level"] + 1, reached(levels, value) + 1):
        level = levels[number - 1]
        await execute(
            conn,
            "INSERT INTO badge_award (badge_id, customer_id, level, event_id, earned_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (badge_id, customer_id, level) DO NOTHING",
            badge.id,
            customer_id,
            number,
            event_id,
            datetime.now(UTC),
        )
        name = in_text(badge.name, "en")
        if len(levels) > 1:
            name = f"{name} ({in_text(level.name, 'en')})"
        key = f"badge:{badge.id}:{customer_id}:{number}"
        balance = None
        if level.reward_points > 0:
            posted = await post_entry(
                conn,
                customer_id=customer_id,
                delta=level.reward_points,
                kind=EntryKind.BONUS,
                reason=f"Badge earned: {name}",
                award_key=key,
                event_id=event_id,
            )
            balance = posted.balance_after
        payload = {"badge_id": badge.id, "name": badge.name, "level": number, "level_name": level.name}
        payload |= {"points": level.reward_points, "icon": level.icon or badge.icon}
        await queue_notification(conn, customer_id, key, NotificationKind.BADGE_EARNED, payload)
        earned.append(Earned(badge.id, number, name, level.reward_points, balance, key))
        progress.counters["level"] = number
    return earned
