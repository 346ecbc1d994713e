"""Marketers' definitions indexed the way the engine looks them up: by the event types their rules mention,
then by each step's cheapest filter, so that an event never looks at a definition it cannot match.

A step's cheapest filter is an `eq` or `in` filter (the one with the fewest values): the step can only match
an event whose fact under that field holds one of those values, which a dict lookup finds. A step without one
(no filters, or only `contains`, `gte`, `lte`) is looked at for every event of its type. Either way the
definitions found are then checked in full with `matches` (game/rules/progress.py), which stays the one
statement of when an event passes a step: the index only skips those it could never pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from game.rules.language import Filter, Op, Rule, Step
from game.rules.progress import matches

T = TypeVar("T")

# A filter value as the index keys it: JSON true is not 1 (see `_same` in game/rules/progress.py), so the
# kind is part of the key; 1 and 1.0 hash alike and are the same there too.
Key = tuple[str, bool, Hashable]


def _key(field_name: str, value: Any) -> Key | None:
    if isinstance(value, str | int | float):  # bool is an int
        return (field_name, isinstance(value, bool), value)
    return None  # an object or a list in the facts: no eq/in filter can equal it


def _cheapest(step: Step) -> Filter | None:
    keyed = [f for f in step.filters if f.op in (Op.EQ, Op.IN)]
    return min(keyed, key=lambda f: len(f.value) if f.op is Op.IN else 1, default=None)


@dataclass(slots=True)
class _OfType(Generic[T]):
    """The definitions whose rules mention one event type, in the given order."""

    items: list[T] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    unfiltered: list[int] = field(default_factory=list)  # positions looked at for every event
    by_value: dict[Key, list[int]] = field(default_factory=lambda: defaultdict(list))
    fields: set[str] = field(default_factory=set)

    def add(self, item: T, rule: Rule, event_type: str) -> None:
        position = len(self.items)
        self.items.append(item)
        self.rules.append(rule)
        keys: set[Key] = set()
        for step in rule.steps:
            if step.event != event_type:
                continue
            cheapest = _cheapest(step)
            if cheapest is None:
                self.unfiltered.append(position)
                return
            values = cheapest.value if cheapest.op is Op.IN else [cheapest.value]
            keys.update(k for k in (_key(cheapest.field, v) for v in values) if k is not None)
            self.fields.add(cheapest.field)
        for k in keys:
            self.by_value[k].append(position)

    def matching(self, event_type: str, facts: dict[str, Any]) -> list[T]:
        positions = set(self.unfiltered)
        for name in self.fields:
            fact = facts.get(name)
            for value in fact if isinstance(fact, list) else (fact,):
                k = _key(name, value)
                if k is not None:
                    positions.update(self.by_value.get(k, ()))
        return [
            self.items[p]
            for p in sorted(positions)
            if any(matches(step, event_type, facts) for step in self.rules[p].steps)
        ]


class RuleIndex(Generic[T]):
    """Definitions with their rules, looked up by event: `matching` gives those with a step the event passes
    (its type, its filters, verified_only), in the order they were given."""

    __slots__ = ("_types",)

    def __init__(self, items: Iterable[tuple[T, Rule]]) -> None:
        self._types: dict[str, _OfType[T]] = {}
        for item, rule in items:
            for event_type in sorted(rule.event_types):
                self._types.setdefault(event_type, _OfType()).add(item, rule, event_type)

    def of_type(self, event_type: str) -> list[T]:
        """Every definition whose rule mentions `event_type`, whether or not a given event passes it."""
        found = self._types.get(event_type)
        return list(found.items) if found else []

    def matching(self, event_type: str, facts: dict[str, Any]) -> list[T]:
        found = self._types.get(event_type)
        return found.matching(event_type, facts) if found else []
