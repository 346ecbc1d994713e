"""The leaderboards reaction: what an event moved on each live board, in the event's transaction.

It runs last, after every reaction that pays, so that the event's ledger entries are all written:
- POINTS_EARNED moves by the sum of the entries posted for the event (its purchase points, bonuses,
  rewards, and for a refund the negative refund and clawback entries); spending (redemptions) is left out;
- CO2E_SAVED by the grams of an eco action (purchases' eco items carry no grams);
- CHALLENGES_COMPLETED by the challenge completions granted for the event, minus those withdrawn.
The season is the one the event occurred in. The row of `leaderboard_score` is written in the transaction,
so a replay (which finds the event processed) moves nothing; the standings it returns are mirrored into
Redis after commit as absolute values.
"""

from __future__ import annotations

from collections import Counter

from game.awards.keys import Reason
from game.events.reactions import Reacted, Situation
from game.leaderboards.models import Leaderboard, Metric
from game.leaderboards.names import shown_name
from game.leaderboards.periods import season_at
from game.leaderboards.ranking import Standing, pack
from game.ledger.models import EntryKind
from game.sql import fetch_one

_CHALLENGE_KEY = "challenge:"
_REVERSED_CHALLENGE_KEY = "reversal:challenge:"


def _challenge_moves(s: Situation) -> Counter[int]:
    """Completions granted (+1) and withdrawn (-1) by the earlier reactions, by challenge id."""
    moves: Counter[int] = Counter()
    for award in s.so_far.awards:
        if award.reason is Reason.CHALLENGE and award.key.startswith(_CHALLENGE_KEY):
            moves[int(award.key.split(":")[1])] += 1
        elif award.reason is Reason.CLAWBACK and award.key.startswith(_REVERSED_CHALLENGE_KEY):
            moves[int(award.key.split(":")[2])] -= 1
    return moves


async def _points_earned(s: Situation) -> int:
    row = await fetch_one(
        "SELECT COALESCE(SUM(delta), 0) AS earned FROM ledger_entry WHERE event_id = $1 AND kind <> $2",
        s.event.id,
        EntryKind.REDEMPTION.value,
        conn=s.conn,
    )
    return int(row["earned"]) if row else 0


class _Deltas:
    """What the event adds to each metric, each worked out once, when a board asks."""

    def __init__(self, s: Situation) -> None:
        self.s = s
        self.points: int | None = None
        self.challenges = _challenge_moves(s)

    async def of(self, board: Leaderboard) -> int:
        if board.metric is Metric.POINTS_EARNED:
            if self.points is None:
                self.points = await _points_earned(self.s)
            return self.points
        if board.metric is Metric.CO2E_SAVED:
            event = self.s.event
            return int(event.payload.get("co2e_g") or 0) if event.type == "eco_action" else 0
        if board.challenge_id is not None:
            return self.challenges[board.challenge_id]
        return sum(self.challenges.values())


async def react(s: Situation) -> Reacted:
    # The live boards come with the rules snapshot: an event costs nothing here while there are none.
    boards = s.rules.boards
    if not boards:
        return Reacted()
    deltas = _Deltas(s)
    moves: list[tuple[Leaderboard, str, int]] = []
    for board in boards:
        season = season_at(board, s.event.occurred_at, s.tz)
        if season is None:
            continue
        delta = await deltas.of(board)
        if delta:
            await _season_row(s, board, season.key, season.ends_at)
            moves.append((board, season.key, delta))
    if not moves:
        return Reacted()
    customer = await fetch_one(
        "SELECT display_name FROM customer WHERE id = $1", s.event.customer_id, conn=s.conn
    )
    name = shown_name(str(s.event.customer_id), customer["display_name"] if customer else None)
    reacted = Reacted()
    for board, season_key, delta in moves:
        score = await _add(s, board, season_key, delta)
        reacted.standings.append(
            Standing(
                board.key,
                season_key,
                str(s.event.customer_id),
                pack(score, s.event.occurred_at, board.starts_at),
                name,
            )
        )
    return reacted


async def _season_row(s: Situation, board: Leaderboard, season: str, ends_at: object) -> None:
    await fetch_one(
        "INSERT INTO leaderboard_season (board_id, season, ends_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (board_id, season) DO NOTHING RETURNING id",
        board.id,
        season,
        ends_at,
        conn=s.conn,
    )


async def _add(s: Situation, board: Leaderboard, season: str, delta: int) -> int:
    """The customer's new score; the customer's lock (held by process_event) orders concurrent events."""
    row = await fetch_one(
        "INSERT INTO leaderboard_score (board_id, season, customer_id, score, reached_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (board_id, season, customer_id) DO UPDATE "
        "SET score = leaderboard_score.score + excluded.score, reached_at = excluded.reached_at "
        "RETURNING score",
        board.id,
        season,
        s.event.customer_id,
        delta,
        s.event.occurred_at,
        conn=s.conn,
    )
    assert row is not None
    return int(row["score"])
