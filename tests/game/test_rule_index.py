"""The index of live rules finds exactly the definitions with a step an event passes, as `matches` says."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from game.rules.index import RuleIndex
from game.rules.language import parse_rule
from game.rules.progress import matches

TYPES = ("visit", "check_in")  # attribute events: any field name goes
# Values of every kind the facts carry, including the ones `eq` must tell apart: true is not 1.
VALUES = st.sampled_from(["coffee", "tea", "cof", 1, 2, True, False, 0])
FIELDS = st.sampled_from(["category", "store"])


@st.composite
def filters(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(["eq", "in", "contains", "gte"]))
    value: Any
    if op == "eq":
        value = draw(VALUES)
    elif op == "in":
        value = draw(st.lists(st.sampled_from(["coffee", "tea", 1, 2]), min_size=1, max_size=3))
    elif op == "contains":
        value = draw(st.sampled_from(["cof", "te"]))
    else:
        value = draw(st.integers(0, 2))
    return {"field": draw(FIELDS), "op": op, "value": value}


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    steps = [
        {
            "event": draw(st.sampled_from(TYPES)),
            "filters": draw(st.lists(filters(), max_size=3)),
            "aggregate": "count",
            "target": 1,
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    return {"steps": steps, "verified_only": draw(st.booleans())}


FACT = st.one_of(VALUES, st.lists(VALUES, max_size=3), st.none())


def _step(*filters: dict[str, Any], event: str = "visit") -> dict[str, Any]:
    return {"event": event, "filters": list(filters), "aggregate": "count", "target": 1}


EQ_COFFEE = {"field": "category", "op": "eq", "value": "coffee"}
EQ_ONE = {"field": "tier", "op": "eq", "value": 1}


@settings(max_examples=500, deadline=None)
# The cases a random draw rarely meets: a fact that is a list, true next to 1, a rule with a keyed step and
# a step without a key, a fact that is an object.
@example([{"steps": [_step(EQ_COFFEE)]}], "visit", {"category": ["tea", "coffee"]})
@example([{"steps": [_step(EQ_ONE)]}, {"steps": [_step(EQ_ONE)]}], "visit", {"tier": True})
@example([{"steps": [_step(EQ_ONE)]}], "visit", {"tier": [True, 1]})
@example([{"steps": [_step(EQ_COFFEE), _step()]}], "visit", {"category": "tea"})
@example([{"steps": [_step(), _step(EQ_COFFEE)]}], "visit", {"category": "coffee"})
@example([{"steps": [_step(EQ_COFFEE, event="check_in")]}], "visit", {"category": "coffee"})
@example([{"steps": [_step(EQ_COFFEE)]}], "visit", {"category": {"name": "coffee"}})
@given(
    st.lists(rules(), max_size=12),
    st.sampled_from(TYPES),
    st.dictionaries(st.sampled_from(["category", "store", "verified"]), FACT),
)
def test_matching_is_what_matches_says_in_the_given_order(
    raw: list[dict[str, Any]], event_type: str, facts: dict[str, Any]
) -> None:
    parsed = [parse_rule(r) for r in raw]
    index = RuleIndex((n, rule) for n, rule in enumerate(parsed))
    expected = [
        n for n, rule in enumerate(parsed) if any(matches(step, event_type, facts) for step in rule.steps)
    ]
    assert index.matching(event_type, facts) == expected
    assert index.of_type(event_type) == [n for n, rule in enumerate(parsed) if event_type in rule.event_types]


def test_a_keyed_definition_the_event_cannot_pass_is_never_looked_at() -> None:
    looked_at: list[str] = []

    class Watched(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            looked_at.append(key)
            return super().get(key, default)

    rule = parse_rule(
        {
            "steps": [
                {
                    "event": "purchase",
                    "aggregate": "count",
                    "target": 1,
                    "filters": [
                        {"field": "category", "op": "eq", "value": "tea"},
                        {"field": "amount_cents", "op": "gte", "value": 100},
                    ],
                }
            ]
        }
    )
    index = RuleIndex([(1, rule)])
    # matches() would read amount_cents; the index rules the definition out on category alone.
    facts = Watched({"category": ["coffee"], "amount_cents": 500})
    assert index.matching("purchase", facts) == []
    assert looked_at == ["category"]
    assert index.matching("purchase", Watched({"category": ["tea", "coffee"], "amount_cents": 500})) == [1]
    assert "amount_cents" in looked_at
