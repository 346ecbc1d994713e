"""What the engine hands each reaction, and what a reaction hands back.

`process_event` (game/events/processing.py) locks the event and the customer, then runs the registered
reactions over the event in order. Each reaction moves its own state, grants its awards through the one award
path (game/awards/service.py), each with its notification, and returns them with the live updates it moved;
after commit one loop announces them and one loop delivers the notifications. A refund reaches every
reaction as `refunded`: the purchase it applies to and what is left of it, so each reaction withdraws what
no longer holds; so does the cancellation of a redemption, with the redemption it withdraws.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from game.awards.service import Granted
from game.events.models import Event
from game.leaderboards.ranking import Standing
from game.live import Update

if TYPE_CHECKING:  # live_rules loads every domain's definitions, and the domains import this module
    from game.events.live_rules import LiveRules


@dataclass(frozen=True, slots=True)
class Refunded:
    """A refund as the engine sees it: the purchase it applies to, as recorded and as it counts now. A
    withdrawal (game/events/models.py EventWithdrawal: a cancelled redemption) reaches reactions the same
    way: the event it withdraws, counting nothing any more."""

    event: Event  # the purchase refunded, or the event withdrawn
    facts: dict[str, Any]  # as recorded: what the event may have counted towards
    remaining: dict[str, Any] | None  # after every refund so far; None once refunded in full or withdrawn


@dataclass(slots=True)
class Reacted:
    awards: list[Granted] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    # Scores moved on leaderboards, mirrored into Redis after commit (game/leaderboards/store.py).
    standings: list[Standing] = field(default_factory=list)
    # Events a reaction recorded (e.g. `referral_qualified` for a referrer), to process after commit.
    events: list[int] = field(default_factory=list)

    def add(self, other: Reacted) -> None:
        self.awards += other.awards
        self.updates += other.updates
        self.standings += other.standings
        self.events += other.events


@dataclass(frozen=True, slots=True)
class Situation:
    conn: BaseDBAsyncClient  # the event's transaction
    event: Event
    # What rules see of the event; None for a purchase refunded in full before it was processed.
    facts: dict[str, Any] | None
    tags: list[str]
    rules: LiveRules
    tz: ZoneInfo
    day: date  # the event's local day
    refunded: Refunded | None = None
    # What the reactions before this one did for the event (the leaderboards count its completions).
    so_far: Reacted = field(default_factory=Reacted)


Reaction = Callable[[Situation], Awaitable[Reacted]]
