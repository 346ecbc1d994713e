"""The ranking rule of every board, in one place.

Higher score first. Equal scores share a rank (competition ranking: 1, 2, 2, 4) and are listed in the order
their holders reached that score: whoever got there first is listed first.

A Redis sorted set orders by one float, so the score and the tie-break are packed into it:

    packed = score * 2**TIE_BITS + (TIE_SPAN - 1 - seconds from the board's start to reached_at)

Within one score, an earlier `reached_at` gives a larger remainder and so comes first in a descending
read. TIE_BITS = 28 covers 8.5 years of seconds from the board's start (later moments all share the last
value, and are then listed by customer id); the packed value stays an exact float (below 2**53) for scores
up to MAX_SCORE = 2**25 - 1 (33,554,431): higher scores are clamped on the board, the database keeps them
whole. A customer's rank is 1 + the number of customers whose score is strictly higher:
`ZCOUNT key (score + 1) * 2**TIE_BITS +inf`, one O(log n) call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

TIE_BITS = 28
TIE_SPAN = 1 << TIE_BITS
MAX_SCORE = (1 << (53 - TIE_BITS)) - 1


def pack(score: int, reached_at: datetime, board_start: datetime) -> float:
    seconds = min(max(int((reached_at - board_start).total_seconds()), 0), TIE_SPAN - 1)
    clamped = min(max(score, -MAX_SCORE), MAX_SCORE)
    return float(clamped * TIE_SPAN + (TIE_SPAN - 1 - seconds))


def pack_sql(score: str, reached_at: str, board_start: str) -> str:
    """`pack` as a PostgreSQL expression over columns or parameters (the rebuild packs in the database)."""
    seconds = f"LEAST(GREATEST(TRUNC(EXTRACT(EPOCH FROM ({reached_at} - {board_start}))), 0), {TIE_SPAN - 1})"
    clamped = f"LEAST(GREATEST({score}, {-MAX_SCORE}), {MAX_SCORE})"
    return f"CAST({clamped} * {TIE_SPAN} + ({TIE_SPAN - 1} - {seconds}) AS DOUBLE PRECISION)"


def unpack(packed: float) -> int:
    """The score a packed value holds."""
    return int(packed) // TIE_SPAN


def higher_than(score: int) -> float:
    """The least packed value of a strictly higher score: ZCOUNT from here counts those ranked above."""
    return float((score + 1) * TIE_SPAN)


@dataclass(frozen=True, slots=True)
class Ranked:
    customer_id: str
    score: int
    rank: int
    position: int  # 1-based place in the listing: ranks repeat, positions do not


def competition_ranks(scores: list[int], first_rank: int, first_position: int) -> list[int]:
    """Ranks of consecutive listed scores (descending), the first of which has `first_rank` and sits at
    `first_position`: a score equal to the previous shares its rank, any other takes its position."""
    ranks: list[int] = []
    for i, score in enumerate(scores):
        if i and score == scores[i - 1]:
            ranks.append(ranks[-1])
        else:
            ranks.append(first_rank if i == 0 else first_position + i)
    return ranks


@dataclass(frozen=True, slots=True)
class Standing:
    """A customer's packed score on one board season, to mirror into Redis after commit."""

    board_key: str
    season: str
    customer_id: str
    packed: float
    name: str
