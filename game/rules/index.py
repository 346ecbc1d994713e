"""Marketers' definitions indexed the way the engine looks them up: by the event types their rules mention."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TypeVar

from game.rules.language import Rule

T = TypeVar("T")


def by_event_type(items: Iterable[tuple[T, Rule]]) -> dict[str, list[T]]:
    """Each definition under every event type its rule mentions, in the given order."""
    index: dict[str, list[T]] = defaultdict(list)
    for item, rule in items:
        for kind in rule.event_types:
            index[kind].append(item)
    return dict(index)
