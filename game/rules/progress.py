"""Incremental evaluation: one event moves a stored progress forward, never by re-reading history.

Progress is plain JSON (one entry per step), so it lives in a database row and survives any restart.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from game.rules.language import Aggregate, Filter, Op, Rule, Step

Progress = list[dict[str, Any]]


def empty_progress(rule: Rule) -> Progress:
    return [{"value": 0} for _ in rule.steps]


def is_complete(rule: Rule, progress: Progress) -> bool:
    return all(p["value"] >= s.target for s, p in zip(rule.steps, progress, strict=True))


def matches(step: Step, event_type: str, facts: dict[str, Any]) -> bool:
    return (
        step.event == event_type
        and (not step.verified_only or facts.get("verified") is True)
        and all(_passes(f, facts) for f in step.filters)
    )


def _passes(f: Filter, facts: dict[str, Any]) -> bool:
    fact = facts.get(f.field)
    if fact is None:
        return False
    items = fact if isinstance(fact, list) else [fact]
    if f.op is Op.EQ:
        return any(_same(f.value, item) for item in items)
    if f.op is Op.IN:
        return any(_same(value, item) for item in items for value in f.value)
    if f.op is Op.CONTAINS:
        return any(isinstance(item, str) and f.value in item for item in items)
    numbers = [item for item in items if isinstance(item, int | float) and not isinstance(item, bool)]
    if f.op is Op.GTE:
        return any(n >= f.value for n in numbers)
    return any(n <= f.value for n in numbers)


def _same(a: Any, b: Any) -> bool:
    # JSON true is not 1: Python's == would say it is.
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def advance(rule: Rule, progress: Progress, event_type: str, facts: dict[str, Any], day: date) -> bool:
    """Moves `progress` (in place) with one event that happened on local `day`; True when it moved.

    Ordered rules move only their first unfinished step, so one event never completes two steps of a
    sequence; unordered rules move every step the event matches.
    """
    moved = False
    for step, state in zip(rule.steps, progress, strict=True):
        done = state["value"] >= step.target
        if done:
            continue
        if matches(step, event_type, facts):
            moved = _aggregate(step, state, facts, day) or moved
        if rule.ordered:
            break
    return moved


def _aggregate(step: Step, state: dict[str, Any], facts: dict[str, Any], day: date) -> bool:
    if step.within_days is not None:
        return _windowed(step, step.within_days, state, facts, day)
    if step.aggregate is Aggregate.COUNT:
        state["value"] += 1
        return True
    if step.aggregate is Aggregate.SUM:
        amount = facts.get(step.field or "")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return False
        state["value"] = min(state["value"] + amount, step.target)
        return True
    if step.aggregate is Aggregate.DISTINCT_DAYS:
        days = set(state.get("days", []))
        if day.isoformat() in days:
            return False
        days.add(day.isoformat())
        state["days"] = sorted(days)
        state["value"] = len(days)
        return True
    unit = day if step.aggregate is Aggregate.CONSECUTIVE_DAYS else day - timedelta(days=day.weekday())
    gap = timedelta(days=1 if step.aggregate is Aggregate.CONSECUTIVE_DAYS else 7)
    return _run(state, unit, gap)


def _amount(step: Step, facts: dict[str, Any]) -> int:
    if step.aggregate is not Aggregate.SUM:
        return 1
    amount = facts.get(step.field or "")
    return amount if isinstance(amount, int) and not isinstance(amount, bool) and amount > 0 else 0


def _windowed(step: Step, days: int, state: dict[str, Any], facts: dict[str, Any], day: date) -> bool:
    """A rolling window keeps one total per local day, at most `days` of them: the state stays bounded
    however long the history. An event older than the window's first day (late, or replayed from far
    back) counts for nothing."""
    amount = _amount(step, facts)
    window: dict[str, int] = state.get("window", {})
    key = day.isoformat()
    if amount == 0 or (step.aggregate is Aggregate.DISTINCT_DAYS and key in window):
        return False
    last = max([day, *(date.fromisoformat(d) for d in window)])
    first = last - timedelta(days=days - 1)
    if day < first:
        return False
    window[key] = window.get(key, 0) + amount
    state["window"] = {d: n for d, n in sorted(window.items()) if date.fromisoformat(d) >= first}
    state["value"] = sum(state["window"].values())
    return True


def value_on(step: Step, state: dict[str, Any], today: date) -> int:
    """What a step shows today, at most its target. A reached step stays reached; an unreached rolling
    window forgets the days that left it, even without new events."""
    if step.within_days is None or state["value"] >= step.target:
        return min(int(state["value"]), step.target)
    first = today - timedelta(days=step.within_days - 1)
    return sum(n for d, n in state.get("window", {}).items() if first <= date.fromisoformat(d) <= today)


def _run(state: dict[str, Any], unit: date, gap: timedelta) -> bool:
    """A run of consecutive days (or weeks, keyed by their Monday). Late events, older than the run's last
    unit, are ignored: keeping every past unit would make the state grow with history."""
    last = date.fromisoformat(state["last"]) if "last" in state else None
    if last is not None and unit <= last:
        return False
    run = state.get("run", 0) + 1 if last is not None and unit - last == gap else 1
    state.update(last=unit.isoformat(), run=run, value=max(state["value"], run))
    return True
