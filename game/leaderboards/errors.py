"""Why a leaderboard request was refused, for clients that branch on it (at the start of the message)."""

from __future__ import annotations

from enum import StrEnum


class LeaderboardReason(StrEnum):
    KEY_TAKEN = "KEY_TAKEN"
    UNKNOWN_BOARD = "UNKNOWN_BOARD"
    UNKNOWN_SEASON = "UNKNOWN_SEASON"
    BAD_PRIZES = "BAD_PRIZES"
    BAD_WINDOW = "BAD_WINDOW"
