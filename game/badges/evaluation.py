"""When is a badge level earned, and when is it withdrawn: the worker's side, inside the transaction that
processes an event.

A rule badge moves with the events its rule matches; a challenge's badge moves with each completion of the
challenge. Either way the customer's progress row is locked while it moves, each level is written once
(`badge_award` is unique per badge, customer and level) and its reward goes through the award path under
`badge:<id>:<customer>:<level>`, so neither replays nor concurrent workers earn a level twice.

A refund of a purchase the badge counted replays the customer's history without what was refunded: levels the
history no longer reaches are withdrawn (the reward reversed, the level no longer held), highest first. A
challenge completion that is withdrawn takes back its grant the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from game.awards import keys
from game.awards.keys import Reason
from game.awards.service import Award, Granted, Notice, grant, withdraw
from game.badges.index import LiveBadge
from game.badges.levels import Level, measure, reached
from game.badges.live import Earned, earned_update
from game.badges.models import Badge, BadgeStatus
from game.customers.tags import in_audience
from game.events.history import Counting, history
from game.events.models import Event
from game.events.reactions import Reacted, Situation
from game.ledger.live import granted_updates
from game.ledger.models import EntryKind
from game.notifications.models import NotificationKind
from game.progress_store import BADGE_PROGRESS, Row, locked_rows, save_rows
from game.rules.progress import advance, empty_progress
from game.sql import execute
from game.validation import in_text


@dataclass(slots=True)
class Leveled:
    """What moving one badge did: the levels earned and the awards posted (rewards and withdrawals)."""

    earned: list[Earned]
    awards: list[Granted]

    def reacted(self, customer_id: UUID) -> Reacted:
        updates = granted_updates(customer_id, self.awards)
        return Reacted(self.awards, updates + [earned_update(customer_id, e) for e in self.earned])


async def react(s: Situation) -> Reacted:
    """The badges reaction: rule badges move with the event, and withdraw what a refund undid."""
    reacted = Reacted()
    if s.facts is not None:
        earned = await evaluate_badges(
            s.conn,
            s.rules.badges.matching(s.event.type, s.facts),
            s.event,
            s.facts,
            s.day,
            lambda audience: in_audience(audience, s.tags),
        )
        reacted.add(earned.reacted(s.event.customer_id))
    if s.refunded is not None:
        purchase, facts = s.refunded.event, s.refunded.facts
        affected = [
            live
            for live in s.rules.badges.matching(purchase.type, facts)
            if in_audience(live.badge.audience_tags, s.tags)
        ]
        reacted.add((await _recount(s, affected)).reacted(s.event.customer_id))
    return reacted


async def evaluate_badges(
    conn: BaseDBAsyncClient,
    matching: list[LiveBadge],
    event: Event,
    facts: dict[str, Any],
    day: date,
    admits: Callable[[list[str]], bool],
) -> Leveled:
    # Given the live badges with a step the event passes; decided without touching the database.
    candidates = [live for live in matching if admits(live.badge.audience_tags)]
    wanted = {(live.badge.id,): empty_progress(live.rule) for live in candidates}
    rows = await locked_rows(conn, BADGE_PROGRESS, event.customer_id, wanted)
    done = Leveled([], [])
    moved = []
    for live in candidates:
        progress = rows[(live.badge.id,)]
        if progress.counters["level"] >= len(live.levels):
            continue  # every level earned: nothing left to count
        if not advance(live.rule, progress.steps, event.type, facts, day):
            continue
        value = measure(live.rule, progress.steps, progress.counters["grants"], None)
        await _level_up(conn, live.badge, live.levels, progress, event.customer_id, value, event.id, done)
        moved.append(progress)
    await save_rows(conn, BADGE_PROGRESS, moved)
    return done


async def _recount(s: Situation, affected: list[LiveBadge]) -> Leveled:
    """Replays the customer's history for each rule badge a refunded purchase counted towards, and withdraws
    the levels it no longer reaches."""
    done = Leveled([], [])
    customer_id = s.event.customer_id
    rows = await locked_rows(
        s.conn,
        BADGE_PROGRESS,
        customer_id,
        {(live.badge.id,): empty_progress(live.rule) for live in affected},
    )
    moved = []
    for live in affected:
        progress = rows[(live.badge.id,)]
        counted = Counting(live.badge.published_at)
        past = await history(s.conn, customer_id, live.rule.event_types, counted)
        steps, level = empty_progress(live.rule), 0
        for event in past:
            if level >= len(live.levels):
                break
            if advance(live.rule, steps, event.type, event.facts, event.day(s.tz)):
                level = max(level, reached(live.levels, measure(live.rule, steps, 0, None)))
        if level > progress.counters["level"]:
            continue  # the replay finds more than was counted (late events): a refund only takes back
        progress.steps = steps
        await _level_down(s.conn, live.badge, progress, customer_id, level, s.event.id, done)
        moved.append(progress)
    await save_rows(s.conn, BADGE_PROGRESS, moved)
    return done


async def grant_for_challenge(
    conn: BaseDBAsyncClient, badge_id: int, customer_id: UUID, event_id: int, done: Leveled
) -> None:
    """One more towards a challenge's badge; archived badges are granted no more."""
    found = await _granted_badge(conn, badge_id)
    if found is None:
        return
    badge, levels = found
    rows = await locked_rows(conn, BADGE_PROGRESS, customer_id, {(badge.id,): []})
    progress = rows[(badge.id,)]
    progress.counters["grants"] += 1
    await _level_up(conn, badge, levels, progress, customer_id, progress.counters["grants"], event_id, done)
    await save_rows(conn, BADGE_PROGRESS, [progress])


async def ungrant_for_challenge(
    conn: BaseDBAsyncClient, badge_id: int, customer_id: UUID, event_id: int, done: Leveled
) -> None:
    """One less towards a challenge's badge, for a withdrawn completion: levels no longer reached go."""
    found = await _granted_badge(conn, badge_id)
    if found is None:
        return
    badge, levels = found
    rows = await locked_rows(conn, BADGE_PROGRESS, customer_id, {(badge.id,): []})
    progress = rows[(badge.id,)]
    if progress.counters["grants"] <= 0:
        return
    progress.counters["grants"] -= 1
    level = reached(levels, progress.counters["grants"])
    await _level_down(conn, badge, progress, customer_id, level, event_id, done)
    await save_rows(conn, BADGE_PROGRESS, [progress])


async def _granted_badge(conn: BaseDBAsyncClient, badge_id: int) -> tuple[Badge, list[Level]] | None:
    badge = await Badge.filter(id=badge_id).using_db(conn).first()
    if badge is None or badge.status is not BadgeStatus.ACTIVE or badge.rule is not None:
        return None
    return badge, [Level.from_json(x) for x in badge.levels]


def _level_name(badge: Badge, levels: list[Level], number: int) -> str:
    name = in_text(badge.name, "en")
    return f"{name} ({in_text(levels[number - 1].name, 'en')})" if len(levels) > 1 else name


async def _level_up(
    conn: BaseDBAsyncClient,
    badge: Badge,
    levels: list[Level],
    progress: Row,
    customer_id: UUID,
    value: int,
    event_id: int,
    done: Leveled,
) -> None:
    """Awards every level `value` reaches that the customer does not hold yet, lowest first."""
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
        name = _level_name(badge, levels, number)
        payload = {"badge_id": badge.id, "name": badge.name, "level": number, "level_name": level.name}
        payload |= {"icon": level.icon or badge.icon}
        granted = await grant(
            conn,
            Award(
                customer_id=customer_id,
                points=level.reward_points,
                kind=EntryKind.BONUS,
                reason=Reason.BADGE,
                key=keys.badge(badge.id, customer_id, number),
                text=f"Badge earned: {name}",
                event_id=event_id,
                notice=Notice(NotificationKind.BADGE_EARNED, payload),
                withdrawable=True,
            ),
        )
        done.awards.append(granted)
        done.earned.append(
            Earned(
                badge.id,
                number,
                name,
                level.reward_points,
                granted.balance,
                granted.key,
                badge.name,
                level.name,
                level.icon or badge.icon,
            )
        )
        progress.counters["level"] = number


async def _level_down(
    conn: BaseDBAsyncClient,
    badge: Badge,
    progress: Row,
    customer_id: UUID,
    level: int,
    event_id: int,
    done: Leveled,
) -> None:
    """Withdraws every level above `level` that the customer holds, highest first."""
    levels = [Level.from_json(x) for x in badge.levels]
    for number in range(progress.counters["level"], level, -1):
        await execute(
            conn,
            "DELETE FROM badge_award WHERE badge_id = $1 AND customer_id = $2 AND level = $3",
            badge.id,
            customer_id,
            number,
        )
        name = _level_name(badge, levels, number) if number <= len(levels) else in_text(badge.name, "en")
        withdrawn = await withdraw(
            conn,
            customer_id,
            keys.badge(badge.id, customer_id, number),
            text=f"Badge withdrawn: {name}"[:200],
            event_id=event_id,
            payload={"badge_id": badge.id, "name": badge.name, "level": number},
        )
        if withdrawn is not None:
            done.awards.append(withdrawn)
    progress.counters["level"] = min(progress.counters["level"], level)
