"""What each kind of notification says, per language, and how it is pushed.

A template fills `{name}` placeholders from the notification's payload; a localised payload value
({"fr": ..., "en": ...}) is first put in the customer's language. Rendering falls back from the customer's
locale ("fr-CA") to its language ("fr") to English.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from game.notifications.models import NotificationKind as K

FALLBACK = "en"


class Category(StrEnum):
    """What a customer turns on or off; marketing is off until the customer opts in."""

    REWARDS = "rewards"
    ACCOUNT = "account"
    CHALLENGES = "challenges"
    MARKETING = "marketing"


class Urgency(StrEnum):
    VERY_LOW = "very-low"
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Kind:
    category: Category
    texts: dict[str, tuple[str, str]]  # language -> (title, body)
    ttl_s: int  # how long the push service keeps it for an offline device
    urgency: Urgency
    # Topic (RFC 8030 5.4): a newer push with the same topic replaces an undelivered older one.
    topic: str | None = None


KINDS: dict[K, Kind] = {
    K.CHALLENGE_COMPLETED: Kind(
        Category.REWARDS,
        {
            "en": ("Challenge completed", "{title}: +{points} points"),
            "fr": ("Défi réussi", "{title} : +{points} points"),
        },
        ttl_s=86400,
        urgency=Urgency.NORMAL,
    ),
    K.BADGE_EARNED: Kind(
        Category.REWARDS,
        {
            "en": ("New badge", "{name}, level {level}: +{points} points"),
            "fr": ("Nouveau badge", "{name}, niveau {level} : +{points} points"),
        },
        ttl_s=86400,
        urgency=Urgency.NORMAL,
    ),
    K.STREAK_MILESTONE: Kind(
        Category.REWARDS,
        {
            "en": ("Streak milestone", "{length} in a row: +{points} points"),
            "fr": ("Série en cours", "{length} d'affilée : +{points} points"),
        },
        ttl_s=86400,
        urgency=Urgency.NORMAL,
        topic="streak",
    ),
    K.REWARD_WITHDRAWN: Kind(
        Category.ACCOUNT,
        {
            "en": ("Reward withdrawn", "A refund took back {points_taken} points"),
            "fr": ("Récompense retirée", "Un remboursement a repris {points_taken} points"),
        },
        ttl_s=7 * 86400,
        urgency=Urgency.LOW,
    ),
    K.POINTS_EXPIRING: Kind(
        Category.ACCOUNT,
        {
            "en": ("Points expiring", "{points} points expire on {date}"),
            "fr": ("Points bientôt expirés", "{points} points expirent le {date}"),
        },
        ttl_s=3 * 86400,
        urgency=Urgency.NORMAL,
        topic="expiry",
    ),
    K.TIER_CHANGED: Kind(
        Category.ACCOUNT,
        {"en": ("New tier", "You are now {tier}"), "fr": ("Nouveau niveau", "Vous êtes maintenant {tier}")},
        ttl_s=7 * 86400,
        urgency=Urgency.NORMAL,
        topic="tier",
    ),
    K.REFERRAL_QUALIFIED: Kind(
        Category.REWARDS,
        {
            "en": ("Referral rewarded", "Your friend joined: +{points} points"),
            "fr": ("Parrainage récompensé", "Votre filleul nous a rejoints : +{points} points"),
        },
        ttl_s=86400,
        urgency=Urgency.NORMAL,
    ),
    K.LEADERBOARD_PRIZE: Kind(
        Category.REWARDS,
        {
            "en": ("Leaderboard prize", "Rank {rank}: +{points} points"),
            "fr": ("Prix du classement", "Rang {rank} : +{points} points"),
        },
        ttl_s=86400,
        urgency=Urgency.NORMAL,
    ),
    K.NEW_CHALLENGE: Kind(
        Category.CHALLENGES,
        {"en": ("New challenge", "{title}"), "fr": ("Nouveau défi", "{title}")},
        ttl_s=86400,
        urgency=Urgency.LOW,
    ),
    # A campaign's title and body are the marketer's own texts, localised in its payload.
    K.CAMPAIGN: Kind(
        Category.MARKETING,
        {"en": ("{title}", "{body}"), "fr": ("{title}", "{body}")},
        ttl_s=86400,
        urgency=Urgency.LOW,
    ),
}


@dataclass(frozen=True, slots=True)
class Rendered:
    title: str
    body: str
    language: str


class _Lenient(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


@functools.lru_cache(maxsize=256)
def languages(locale: str) -> tuple[str, ...]:
    """The languages to try for `locale`, best first: "fr-CA" -> fr-ca, fr, en. A handful of locales render
    every notification: worked out once each."""
    locale = locale.lower().replace("_", "-")
    tried = [locale, locale.split("-")[0], FALLBACK]
    return tuple(dict.fromkeys(tried))


def localise(value: Any, locale: str) -> str:
    if isinstance(value, dict):
        for language in languages(locale):
            if value.get(language):
                return str(value[language])
        return str(next(iter(value.values()), ""))
    return "" if value is None else str(value)


def render(kind: K, payload: dict[str, Any], locale: str) -> Rendered:
    texts = KINDS[kind].texts
    language = next((lang for lang in languages(locale) if lang in texts), FALLBACK)
    title, body = texts[language]
    values = _Lenient({name: localise(value, language) for name, value in payload.items()})
    # A withdrawal's payload carries the points moved (negative); its text says how many were taken.
    if isinstance(payload.get("points"), int):
        values["points_taken"] = str(abs(payload["points"]))
    # format_map, in C: string.Formatter is the same parser in Python, a sixth of planning a push.
    return Rendered(title.format_map(values), body.format_map(values), language)
