"""A badge's levels, and what a customer's progress measures against them.

A badge whose rule has one step measures that step's value: levels are thresholds on it (bronze 3, silver 10,
gold 25 purchases within 30 days), and the step counts up to the top level. A rule of several steps is a
single level, reached when the rule is complete. A badge without a rule is granted by challenges: its levels
count the grants (complete the weekly challenge 1, 4, 12 times).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from game.errors import bad_input
from game.rules.language import Rule
from game.rules.progress import is_complete, value_on
from game.validation import bounded, icon, localized

MAX_LEVELS = 10
MAX_TARGET = 1_000_000
MAX_REWARD_POINTS = 1_000_000


@dataclass(frozen=True, slots=True)
class Level:
    name: dict[str, str]
    target: int
    reward_points: int = 0
    icon: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "reward_points": self.reward_points,
            "icon": self.icon,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Level:
        return cls(data["name"], data["target"], data.get("reward_points", 0), data.get("icon", ""))


def validate_levels(levels: list[Level], rule: Rule | None) -> list[Level]:
    if not 1 <= len(levels) <= MAX_LEVELS:
        raise bad_input(f"levels: give 1 to {MAX_LEVELS} levels", "levels")
    checked = []
    for n, level in enumerate(levels):
        where = f"levels[{n}]"
        bounded(level.target, 1, MAX_TARGET, f"{where}.target")
        bounded(level.reward_points, 0, MAX_REWARD_POINTS, f"{where}.rewardPoints")
        if n and level.target <= levels[n - 1].target:
            raise bad_input(f"{where}.target must be above the level before it", "levels")
        name = localized(level.name, f"{where}.name", 60, required=True)
        checked.append(Level(name, level.target, level.reward_points, icon(level.icon)))
    if rule is not None and len(rule.steps) == 1 and rule.steps[0].target != levels[-1].target:
        raise bad_input(
            f"rule.steps[0].target must be the top level's target ({levels[-1].target}): "
            "a badge's step counts up to its last level",
            "rule",
        )
    if rule is not None and len(rule.steps) > 1 and (len(levels) != 1 or levels[0].target != 1):
        raise bad_input("a rule of several steps makes a single level, with target 1", "levels")
    return checked


def measure(rule: Rule | None, steps: list[dict[str, Any]], grants: int, today: date | None) -> int:
    """Where the customer stands against the levels' targets: today, or (None) as of the last event."""
    if rule is None:
        return grants
    if len(rule.steps) == 1:
        step, state = rule.steps[0], steps[0]
        return value_on(step, state, today) if today else min(int(state["value"]), step.target)
    return 1 if is_complete(rule, steps) else 0


def reached(levels: list[Level], value: int) -> int:
    """How many levels `value` reaches (levels are ascending)."""
    return sum(1 for level in levels if value >= level.target)
