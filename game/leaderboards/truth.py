"""What a board counts, read from the truth: the ledger, the eco contributions and the engine's grants.

A board's score is a sum of *contributions*, each tied to the event it counts under (and so to the season
that event occurred in):
- POINTS_EARNED: ledger entries of kind earn, bonus, refund and clawback posted for an event (purchases, eco
  bonuses and actions, rewards of challenges, badges, streaks and referrals, to whichever customer they were
  paid, and their reversals). Not redemptions (spending, nor its cancellation), expiries, nor leaderboard
  prizes (posted for no event: a prize must not decide the next season);
- CO2E_SAVED: the grams of each eco action (`eco_contribution`);
- CHALLENGES_COMPLETED: each challenge completion granted (`award_grant`), +1 under the event that completed
  it, -1 under the event (a refund) that withdrew it; of one challenge when the board has one.

A contribution counts once its event is processed. The engine's reaction counts those of the event it
processes, in the event's transaction; a path that posts for an event already processed (a challenge
backfill, a referral reward approved later, points released after a return window) counts what it posted
in its own transaction (`engine.count_posted`). The rebuild sums them all with the same SQL.

A customer reached their score at the latest moment one of their events moved it: the rebuild takes, over
the events whose contributions to the customer do not cancel out, the latest `occurred_at`, which is what
the increments keep (`reached_at` only moves forward).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from game.awards.keys import Reason
from game.leaderboards.models import Leaderboard, Metric
from game.ledger.models import EntryKind

_COUNTED_KINDS = ", ".join(
    f"'{k.value}'" for k in (EntryKind.EARN, EntryKind.BONUS, EntryKind.REFUND, EntryKind.CLAWBACK)
)


@dataclass(frozen=True, slots=True)
class _Source:
    table: str  # FROM, with the alias `x`
    customer: str
    event: str  # the column of the event a row counts under
    amount: str
    condition: str  # always true of a counted row
    key: str | None = None  # the award key column, for the paths that count what they posted


def _sources(board: Leaderboard) -> list[_Source]:
    if board.metric is Metric.POINTS_EARNED:
        condition = f"x.kind IN ({_COUNTED_KINDS}) AND x.award_key NOT LIKE 'leaderboard:%'"
        return [_Source("ledger_entry x", "x.customer_id", "x.event_id", "x.delta", condition, "x.award_key")]
    if board.metric is Metric.CO2E_SAVED:
        return [_Source("eco_contribution x", "x.customer_id", "x.event_id", "x.co2e_grams", "1 = 1")]
    condition = f"x.reason = '{Reason.CHALLENGE.value}'"
    if board.challenge_id is not None:
        condition += f" AND x.base_key LIKE 'challenge:{int(board.challenge_id)}:%'"
    return [
        _Source("award_grant x", "x.customer_id", "x.event_id", "1", condition, "x.key"),
        _Source("award_grant x", "x.customer_id", "x.withdrawn_event_id", "-1", condition),
    ]


def same_counting(a: Leaderboard, b: Leaderboard) -> bool:
    """Whether two boards count the same contributions (their seasons may still differ)."""
    return a.metric is b.metric and (
        a.metric is not Metric.CHALLENGES_COMPLETED or a.challenge_id == b.challenge_id
    )


@dataclass(slots=True)
class Query:
    """Parameters of SQL written with `$n` numbered in order of appearance (SQLite's `?` are positional)."""

    params: list[Any] = field(default_factory=list)

    def p(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"


def of_event(board: Leaderboard, event_id: int) -> tuple[str, list[Any]]:
    """What the event contributes to each customer: rows (customer_id, amount). The engine's reaction."""
    q = Query()
    parts = [
        f"SELECT {s.customer} AS customer_id, {s.amount} AS amount FROM {s.table} "
        f"WHERE {s.condition} AND {s.event} = {q.p(event_id)}"
        for s in _sources(board)
    ]
    sql = (
        f"SELECT customer_id, SUM(amount) AS amount FROM ({' UNION ALL '.join(parts)}) c GROUP BY customer_id"
    )
    return sql, q.params


def of_keys(board: Leaderboard, keys: list[str]) -> tuple[str, list[Any]] | None:
    """What the awards posted under `keys` contribute, for events already processed: rows (customer_id,
    event_id, occurred_at, amount). None when the board counts no awards."""
    q = Query()
    parts = []
    for s in _sources(board):
        if s.key is None:
            continue
        marks = ", ".join(q.p(k) for k in keys)
        parts.append(
            f"SELECT {s.customer} AS customer_id, e.id AS event_id, e.occurred_at, {s.amount} AS amount "
            f"FROM {s.table} JOIN event e ON e.id = {s.event} "
            f"WHERE {s.condition} AND {s.key} IN ({marks}) AND e.processed_at IS NOT NULL"
        )
    if not parts:
        return None
    sql = (
        "SELECT customer_id, event_id, MAX(occurred_at) AS occurred_at, SUM(amount) AS amount "
        f"FROM ({' UNION ALL '.join(parts)}) c GROUP BY customer_id, event_id"
    )
    return sql, q.params


def of_season(board: Leaderboard, starts_at: datetime, ends_at: datetime | None) -> tuple[str, list[Any]]:
    """Every customer's score on the season [starts_at, ends_at): rows (customer_id, score, reached_at),
    from the processed events that occurred in it. The rebuild."""
    q = Query()
    parts = []
    for s in _sources(board):
        window = f"e.occurred_at >= {q.p(starts_at)}"
        if ends_at is not None:
            window += f" AND e.occurred_at < {q.p(ends_at)}"
        parts.append(
            f"SELECT {s.customer} AS customer_id, e.id AS event_id, e.occurred_at, {s.amount} AS amount "
            f"FROM {s.table} JOIN event e ON e.id = {s.event} "
            f"WHERE {s.condition} AND e.processed_at IS NOT NULL AND {window}"
        )
    per_event = (
        "SELECT customer_id, MAX(occurred_at) AS occurred_at, SUM(amount) AS amount "
        f"FROM ({' UNION ALL '.join(parts)}) c GROUP BY customer_id, event_id HAVING SUM(amount) <> 0"
    )
    sql = (
        "SELECT customer_id, SUM(amount) AS score, MAX(occurred_at) AS reached_at "
        f"FROM ({per_event}) t GROUP BY customer_id"
    )
    return sql, q.params
