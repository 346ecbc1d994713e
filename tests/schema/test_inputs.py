"""Input objects built in one pass (schema/inputs.py) equal what strawberry builds itself.

No `from __future__ import annotations` here: the types are made inside a function, where strawberry
could not resolve their names from strings."""

import json
from datetime import datetime
from enum import Enum
from typing import Any

import pytest
import strawberry

from schema.inputs import build_inputs_in_one_pass


def _schema() -> tuple[strawberry.Schema, Any]:
    """A fresh schema with classes of its own: the builders are set on the input types' definitions."""

    @strawberry.enum
    class Colour(Enum):
        RED = "red"
        BLUE = "blue"

    @strawberry.input
    class Inner:
        colour: Colour
        counts: list[int]
        note: str | None = None

    @strawberry.input
    class Outer:
        name: str
        when: datetime | None
        inner: Inner | None
        inners: list[Inner]
        tags: list[str] = strawberry.field(default_factory=list)
        size: int = 3
        colours: list[Colour] | None = None
        later: str | None = strawberry.UNSET

    @strawberry.type
    class Query:
        @strawberry.field
        def echo(self, o: Outer, extra: Inner | None = None) -> str:
            return repr((o, extra))

    return strawberry.Schema(query=Query), Outer


QUERY = "query($o: Outer!, $x: Inner) { echo(o: $o, extra: $x) }"
INNER = {"colour": "BLUE", "counts": [1, 2]}
CASES: list[dict[str, Any]] = [
    {"o": {"name": "a", "when": None, "inner": None, "inners": []}},
    {
        "o": {
            "name": "b",
            "when": "2026-11-28T10:00:00+00:00",
            "inner": {**INNER, "note": "n"},
            "inners": [INNER, {"colour": "RED", "counts": []}],
            "tags": ["x", "y"],
            "size": 9,
            "colours": ["RED", "BLUE"],
            "later": None,
        },
        "x": INNER,
    },
    {"o": {"name": "c", "when": None, "inner": INNER, "inners": [INNER], "later": "set"}, "x": None},
]


@pytest.mark.parametrize("variables", CASES)
def test_inputs_built_in_one_pass_equal_strawberrys(variables: dict[str, Any]) -> None:
    stock, _ = _schema()
    lean, outer = _schema()
    build_inputs_in_one_pass(lean)
    assert outer.__strawberry_definition__.from_input is not None  # the one-pass builder is what ran
    expected = stock.execute_sync(QUERY, variable_values=variables)
    assert expected.errors is None
    answer = lean.execute_sync(QUERY, variable_values=variables)
    assert json.dumps(answer.data) == json.dumps(expected.data)
