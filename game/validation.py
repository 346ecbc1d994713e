"""Checks that marketer-written definitions (challenges, badges) share, each failing with the field to fix."""

from __future__ import annotations

from game.errors import bad_input

LANGUAGES = ("fr", "en")


def localized(texts: dict[str, str] | None, field: str, max_length: int, required: bool) -> dict[str, str]:
    """{"fr": ..., "en": ...}: the app shows the customer's language, or the other one."""
    texts = texts or {}
    unknown = sorted(set(texts) - set(LANGUAGES))
    if unknown:
        raise bad_input(f"{field}: languages are {', '.join(LANGUAGES)}, not {', '.join(unknown)}", field)
    if required and not texts:
        raise bad_input(f"{field}: give at least one of {', '.join(LANGUAGES)}", field)
    for language, text in texts.items():
        if not 1 <= len(text.strip()) <= max_length:
            raise bad_input(f"{field}.{language} must have 1 to {max_length} characters", field)
    return {language: text.strip() for language, text in texts.items()}


def in_text(texts: dict[str, str], locale: str) -> str:
    """The text in the customer's language, else any."""
    return texts.get(locale.split("-")[0]) or next(iter(texts.values()), "")


def bounded(value: int, low: int, high: int, name: str) -> int:
    if not low <= value <= high:
        raise bad_input(f"{name} must be between {low} and {high}", name)
    return value


def optional(value: int | None, low: int, high: int, name: str) -> int | None:
    return None if value is None else bounded(value, low, high, name)


def icon(value: str) -> str:
    if len(value) > 200:
        raise bad_input("icon must have at most 200 characters", "icon")
    return value
