"""The rule language marketers write challenges and badges in: data, validated on write, never code.

    {"ordered": false,
     "steps": [{"event": "purchase", "filters": [{"field": "category", "op": "contains", "value": "coffee"}],
                "aggregate": "count", "target": 3}]}

A step counts the events of one type that pass all its filters, aggregated one way, up to a target.
`count`, `sum` and `distinct_days` may add `"within_days": 30`: only the last 30 local days count
("25 purchases within 30 days"). `"verified_only": true` on the rule counts only events that a till, a partner
or the platform recorded, not those the customer declared (see game/rules/facts.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar

from game.errors import bad_input

E = TypeVar("E", bound=StrEnum)

MAX_STEPS = 10
MAX_FILTERS = 20
MAX_IN_VALUES = 100
MAX_TARGET = 1_000_000_000
MAX_WINDOW_DAYS = 366
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class Op(StrEnum):
    EQ = "eq"
    IN = "in"
    GTE = "gte"
    LTE = "lte"
    CONTAINS = "contains"


class Aggregate(StrEnum):
    COUNT = "count"
    SUM = "sum"
    DISTINCT_DAYS = "distinct_days"
    CONSECUTIVE_DAYS = "consecutive_days"
    CONSECUTIVE_WEEKS = "consecutive_weeks"


# The facts the platform's own events carry (game/rules/facts.py); other types carry their attributes.
KNOWN_FIELDS: dict[str, dict[str, type]] = {
    "purchase": {
        "amount_cents": int,
        "quantity": int,
        "currency": str,
        "channel": str,
        "category": list,
        "sku": list,
        "eco": bool,
        "eco_quantity": int,
        "verified": bool,
    },
    "eco_action": {"action": str, "quantity": int, "verified": bool, "co2e_g": int},
    # Recorded for the direct referrer when a referee qualifies (game/referrals/evaluation.py).
    "referral_qualified": {"referee_id": str, "level": int, "verified": bool},
    "redemption": {"reward_id": int, "kind": str, "cost_points": int, "verified": bool},
}
NUMERIC = (int,)


@dataclass(frozen=True, slots=True)
class Filter:
    field: str
    op: Op
    value: Any


@dataclass(frozen=True, slots=True)
class Step:
    event: str
    filters: tuple[Filter, ...]
    aggregate: Aggregate
    target: int
    field: str | None = None
    # A rolling window of local days, or None for everything since the progress started.
    within_days: int | None = None
    # The rule's `verified_only`, on each step: only events a till, partner or the platform recorded count.
    verified_only: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    steps: tuple[Step, ...]
    ordered: bool = False
    verified_only: bool = False

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(step.event for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "ordered": self.ordered,
            **({"verified_only": True} if self.verified_only else {}),
            "steps": [
                {
                    "event": s.event,
                    "filters": [{"field": f.field, "op": f.op.value, "value": f.value} for f in s.filters],
                    "aggregate": s.aggregate.value,
                    **({"field": s.field} if s.field else {}),
                    "target": s.target,
                    **({"within_days": s.within_days} if s.within_days else {}),
                }
                for s in self.steps
            ],
        }


class _Issues:
    """Collects every problem of a rule, so the marketer fixes them in one round."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")


def parse_rule(data: Any, field: str = "rule") -> Rule:
    issues = _Issues()
    rule = _rule(data, issues)
    if issues.items or rule is None:
        raise bad_input("invalid rule: " + "; ".join(issues.items), field)
    return rule


def _unknown_keys(data: dict[str, Any], allowed: set[str], path: str, issues: _Issues) -> None:
    for key in sorted(set(data) - allowed):
        issues.add(f"{path}.{key}" if path else key, "unknown key")


def _rule(data: Any, issues: _Issues) -> Rule | None:
    if not isinstance(data, dict):
        issues.add("rule", "must be an object with 'steps'")
        return None
    _unknown_keys(data, {"steps", "ordered", "verified_only"}, "", issues)
    ordered = data.get("ordered", False)
    if not isinstance(ordered, bool):
        issues.add("ordered", "must be true or false")
    verified_only = data.get("verified_only", False)
    if not isinstance(verified_only, bool):
        issues.add("verified_only", "must be true or false")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not 1 <= len(raw_steps) <= MAX_STEPS:
        issues.add("steps", f"must be a list of 1 to {MAX_STEPS} steps")
        return None
    steps = [_step(raw, f"steps[{i}]", issues) for i, raw in enumerate(raw_steps)]
    if any(step is None for step in steps):
        return None
    verified = verified_only is True
    return Rule(
        steps=tuple(replace(s, verified_only=verified) for s in steps if s is not None),
        ordered=ordered is True,
        verified_only=verified,
    )


def _step(data: Any, path: str, issues: _Issues) -> Step | None:
    if not isinstance(data, dict):
        issues.add(path, "must be an object")
        return None
    _unknown_keys(data, {"event", "filters", "aggregate", "field", "target", "within_days"}, path, issues)
    before = len(issues.items)
    event = data.get("event")
    if not isinstance(event, str) or not _IDENTIFIER.match(event):
        issues.add(f"{path}.event", "must be an event type such as 'purchase' or 'check_in'")
        event = None
    aggregate = _enum(Aggregate, data.get("aggregate"), f"{path}.aggregate", issues)
    target = data.get("target")
    if not isinstance(target, int) or isinstance(target, bool) or not 1 <= target <= MAX_TARGET:
        issues.add(f"{path}.target", f"must be a whole number from 1 to {MAX_TARGET}")
    field = data.get("field")
    if aggregate is Aggregate.SUM:
        if not isinstance(field, str) or not _field_ok(event, field, numeric=True):
            issues.add(f"{path}.field", "sum needs a numeric field of the event, e.g. 'amount_cents'")
    elif field is not None:
        issues.add(
            f"{path}.field", f"only 'sum' takes a field, not {aggregate.value if aggregate else 'this'}"
        )
    within_days = _window(data.get("within_days"), aggregate, f"{path}.within_days", issues)
    raw_filters = data.get("filters", [])
    if not isinstance(raw_filters, list) or len(raw_filters) > MAX_FILTERS:
        issues.add(f"{path}.filters", f"must be a list of at most {MAX_FILTERS} filters")
        raw_filters = []
    filters = [_filter(event, raw, f"{path}.filters[{i}]", issues) for i, raw in enumerate(raw_filters)]
    if len(issues.items) > before or event is None or aggregate is None:
        return None
    return Step(
        event=event,
        filters=tuple(f for f in filters if f is not None),
        aggregate=aggregate,
        target=int(target),  # type: ignore[arg-type]
        field=field if aggregate is Aggregate.SUM else None,
        within_days=within_days,
    )


WINDOWED = (Aggregate.COUNT, Aggregate.SUM, Aggregate.DISTINCT_DAYS)


def _window(value: Any, aggregate: Aggregate | None, path: str, issues: _Issues) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_WINDOW_DAYS:
        issues.add(path, f"must be a whole number of days from 1 to {MAX_WINDOW_DAYS}")
        return None
    if aggregate is not None and aggregate not in WINDOWED:
        issues.add(path, f"applies to count, sum and distinct_days, not {aggregate.value}")
        return None
    return value


def _filter(event: str | None, data: Any, path: str, issues: _Issues) -> Filter | None:
    if not isinstance(data, dict):
        issues.add(path, "must be an object with field, op and value")
        return None
    _unknown_keys(data, {"field", "op", "value"}, path, issues)
    field = data.get("field")
    if not isinstance(field, str) or not _field_ok(event, field, numeric=False):
        known = KNOWN_FIELDS.get(event or "")
        hint = f"one of {', '.join(sorted(known))}" if known else "an attribute name (a-z, 0-9, _)"
        issues.add(f"{path}.field", f"must be {hint}")
        return None
    op = _enum(Op, data.get("op"), f"{path}.op", issues)
    if op is None:
        return None
    kind = KNOWN_FIELDS.get(event or "", {}).get(field)
    if kind is not None and not _op_fits(op, kind):
        issues.add(f"{path}.op", f"{op.value} does not apply to {field}")
        return None
    value = data.get("value")
    problem = _value_problem(op, value) or (_kind_problem(kind, field, op, value) if kind else None)
    if problem:
        issues.add(f"{path}.value", problem)
        return None
    return Filter(field=field, op=op, value=value)


def _kind_problem(kind: type, field: str, op: Op, value: Any) -> str | None:
    """A known field's values must be of its kind, or the filter could never match (true is not 1)."""
    if op not in (Op.EQ, Op.IN):
        return None
    expected = {bool: bool, int: int}.get(kind, str)
    values = value if op is Op.IN else [value]
    if all(isinstance(v, expected) and (expected is bool or not isinstance(v, bool)) for v in values):
        return None
    return f"{field} compares with {'true/false' if expected is bool else expected.__name__} values"


def _op_fits(op: Op, kind: type) -> bool:
    if op in (Op.GTE, Op.LTE):
        return kind in NUMERIC
    if op is Op.CONTAINS:
        return kind in (str, list)
    return True


def _value_problem(op: Op, value: Any) -> str | None:
    scalar = isinstance(value, str | int | bool) and not isinstance(value, float)
    if op is Op.EQ and not scalar:
        return "eq compares with a string, a whole number or true/false"
    if op is Op.IN and (
        not isinstance(value, list)
        or not 1 <= len(value) <= MAX_IN_VALUES
        or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value)
    ):
        return f"in needs a list of 1 to {MAX_IN_VALUES} strings or whole numbers"
    if op in (Op.GTE, Op.LTE) and (not isinstance(value, int) or isinstance(value, bool)):
        return f"{op.value} compares with a whole number"
    if op is Op.CONTAINS and not isinstance(value, str):
        return "contains looks for a string"
    return None


def _field_ok(event: str | None, field: str, *, numeric: bool) -> bool:
    known = KNOWN_FIELDS.get(event or "")
    if known is None:
        return bool(_IDENTIFIER.match(field))
    kind = known.get(field)
    return kind is not None and (not numeric or kind in NUMERIC)


def _enum(kind: type[E], value: Any, path: str, issues: _Issues) -> E | None:
    try:
        return kind(value)
    except ValueError:
        issues.add(path, f"must be one of {', '.join(m.value for m in kind)}")
        return None
