"""Pure rules of notifications: templates rendered in the customer's language with a fallback, quiet hours in
the customer's own timezone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from game.notifications.models import NotificationKind
from game.notifications.service import Preferences
from game.notifications.templates import KINDS, render

REGULAR = {"fr": "Habitué", "en": "Regular"}


@pytest.mark.parametrize(
    ("locale", "title", "body", "language"),
    [
        ("fr", "Défi réussi", "Habitué : +50 points", "fr"),
        ("fr-CA", "Défi réussi", "Habitué : +50 points", "fr"),
        ("en-GB", "Challenge completed", "Regular: +50 points", "en"),
        ("de", "Challenge completed", "Regular: +50 points", "en"),
    ],
)
def test_a_template_is_rendered_in_the_customers_language_or_english(
    locale: str, title: str, body: str, language: str
) -> None:
    rendered = render(NotificationKind.CHALLENGE_COMPLETED, {"title": REGULAR, "points": 50}, locale)
    assert (rendered.title, rendered.body, rendered.language) == (title, body, language)


def test_a_payload_text_missing_in_the_language_falls_back_to_english_then_any() -> None:
    fr_only = {"title": {"fr": "Soldes"}, "body": {"en": "Double points"}}
    rendered = render(NotificationKind.CAMPAIGN, fr_only, "fr")
    assert (rendered.title, rendered.body) == ("Soldes", "Double points")
    rendered = render(NotificationKind.CAMPAIGN, fr_only, "de")
    assert (rendered.title, rendered.body) == ("Soldes", "Double points")


def test_a_missing_payload_value_renders_empty_rather_than_failing() -> None:
    rendered = render(NotificationKind.TIER_CHANGED, {}, "en")
    assert (rendered.title, rendered.body) == ("New tier", "You are now ")


def test_a_withdrawal_says_how_many_points_were_taken() -> None:
    rendered = render(NotificationKind.REWARD_WITHDRAWN, {"points": -50, "withdrawn": "challenge:1"}, "fr")
    assert rendered.body == "Un remboursement a repris 50 points"


def test_every_kind_has_french_and_english_texts() -> None:
    assert set(KINDS) == set(NotificationKind)
    assert all({"fr", "en"} <= set(kind.texts) for kind in KINDS.values())


PARIS = ZoneInfo("Europe/Paris")
NIGHT = Preferences(quiet_start_min=22 * 60, quiet_end_min=7 * 60 + 30)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        # 23:00 in Paris (UTC+1 in November): wait until 07:30 Paris the next morning.
        (datetime(2026, 11, 27, 22, 0, tzinfo=UTC), datetime(2026, 11, 28, 6, 30, tzinfo=UTC)),
        # 01:00 in Paris: the same morning.
        (datetime(2026, 11, 28, 0, 0, tzinfo=UTC), datetime(2026, 11, 28, 6, 30, tzinfo=UTC)),
        # 21:59 and 07:30 in Paris: outside.
        (datetime(2026, 11, 27, 20, 59, tzinfo=UTC), None),
        (datetime(2026, 11, 28, 6, 30, tzinfo=UTC), None),
        # Summer time (UTC+2): 07:30 Paris is 05:30 UTC.
        (datetime(2026, 7, 1, 3, 0, tzinfo=UTC), datetime(2026, 7, 1, 5, 30, tzinfo=UTC)),
    ],
)
def test_overnight_quiet_hours_end_at_the_local_end_time(now: datetime, until: datetime | None) -> None:
    assert NIGHT.quiet_until(now, PARIS) == until


def test_daytime_quiet_hours_and_none() -> None:
    lunch = Preferences(quiet_start_min=12 * 60, quiet_end_min=14 * 60)
    noon_30 = datetime(2026, 11, 28, 11, 30, tzinfo=UTC)  # 12:30 Paris
    assert lunch.quiet_until(noon_30, PARIS) == datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
    assert Preferences().quiet_until(noon_30, PARIS) is None
