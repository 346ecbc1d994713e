"""Recurring challenges restart every day, week or month of the programme's timezone, DST included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from game.challenges.models import Recurrence


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    starts_at: datetime
    ends_at: datetime | None


def period_at(
    recurrence: Recurrence, moment: datetime, tz: ZoneInfo, starts_at: datetime, ends_at: datetime | None
) -> Period:
    """The period containing `moment`, clipped to the challenge's own window."""
    return period_on(recurrence, local_day(moment, tz), tz, starts_at, ends_at)


def period_on(
    recurrence: Recurrence, day: date, tz: ZoneInfo, starts_at: datetime, ends_at: datetime | None
) -> Period:
    """The period containing the local `day`, clipped to the challenge's own window."""
    if recurrence is Recurrence.NONE:
        return Period("once", starts_at, ends_at)
    key, start, end = _calendar(recurrence, day, tz)
    return Period(key, max(start, starts_at), min(end, ends_at) if ends_at else end)


# Customers' screens ask for the same few periods (today's, this week's, this month's) for every recurring
# challenge on every request.
@lru_cache(maxsize=256)
def _calendar(recurrence: Recurrence, local: date, tz: ZoneInfo) -> tuple[str, datetime, datetime]:
    if recurrence is Recurrence.DAILY:
        first, after, key = local, local + timedelta(days=1), local.isoformat()
    elif recurrence is Recurrence.WEEKLY:
        first = local - timedelta(days=local.weekday())
        year, week, _ = local.isocalendar()
        after, key = first + timedelta(days=7), f"{year}-W{week:02d}"
    else:
        first = local.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        key = f"{first.year}-{first.month:02d}"
    return key, _midnight(first, tz), _midnight(after, tz)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    # zoneinfo turns local midnight into the right UTC instant on both sides of a DST change, so the days
    # around it last 23 or 25 hours rather than shifting the period boundary by one.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()
