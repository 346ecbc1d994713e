"""The ranking rule, the seasons and the pseudonyms of leaderboards, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from game.leaderboards.models import BoardPeriod, Leaderboard, Metric
from game.leaderboards.names import pseudonym, shown_name
from game.leaderboards.periods import season_at
from game.leaderboards.ranking import MAX_SCORE, competition_ranks, higher_than, pack, unpack

START = datetime(2026, 1, 1, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def test_higher_scores_first_then_whoever_reached_the_score_first() -> None:
    early, late = START + timedelta(hours=1), START + timedelta(days=400)
    assert pack(11, late, START) > pack(10, early, START)
    assert pack(10, early, START) > pack(10, late, START)
    assert unpack(pack(10, late, START)) == 10
    assert unpack(pack(MAX_SCORE, early, START)) == MAX_SCORE
    assert unpack(pack(MAX_SCORE + 5, early, START)) == MAX_SCORE  # clamped on the board only
    assert unpack(pack(-3, early, START)) == -3


def test_higher_than_separates_a_score_from_the_next() -> None:
    for score in (0, 1, 20, MAX_SCORE - 1):
        assert pack(score, START + timedelta(days=3000), START) < higher_than(score)
        assert pack(score + 1, START + timedelta(days=3000), START) >= higher_than(score)
        assert pack(score, START, START) < higher_than(score)


def test_competition_ranks() -> None:
    assert competition_ranks([30, 20, 20, 10], 1, 1) == [1, 2, 2, 4]
    assert competition_ranks([20, 20, 10, 10, 5], 2, 3) == [2, 2, 5, 5, 7]
    assert competition_ranks([], 1, 1) == []


def _weekly() -> Leaderboard:
    return Leaderboard(
        key="w", title="w", metric=Metric.POINTS_EARNED, period=BoardPeriod.WEEKLY, starts_at=START, prizes=[]
    )


def test_weeks_start_at_local_monday_midnight_across_dst() -> None:
    board = _weekly()
    # Paris leaves summer time on Sunday 25 October 2026: Monday 26 starts at 23:00 UTC on the 25th.
    sunday_night = season_at(board, datetime(2026, 10, 25, 22, 59, tzinfo=UTC), PARIS)
    monday = season_at(board, datetime(2026, 10, 25, 23, 0, tzinfo=UTC), PARIS)
    assert sunday_night is not None
    assert monday is not None
    assert (sunday_night.key, monday.key) == ("2026-W43", "2026-W44")
    assert sunday_night.ends_at == monday.starts_at == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    # The week before began in summer time: Monday 19 at 22:00 UTC on the 18th, 169 hours earlier.
    assert sunday_night.starts_at == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)
    assert season_at(board, datetime(2025, 12, 31, tzinfo=UTC), PARIS) is None  # before the board


def test_a_pseudonym_is_stable_and_says_nothing_of_the_id() -> None:
    cid = "2e01af79-e292-473d-9528-4ff4eaa3bc95"
    assert pseudonym(cid) == pseudonym(cid)
    assert pseudonym(cid) != pseudonym("11111111-e292-473d-9528-4ff4eaa3bc95")
    assert cid[:8] not in pseudonym(cid)
    assert shown_name(cid, "  ") == pseudonym(cid)
    assert shown_name(cid, "Ann") == "Ann"
