"""The lean path through graphql-core answers what graphql-core's own path answers, errors included."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import pytest
import strawberry

from schema.execution import LeanExecutionContext


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    count: int
    colour: Colour
    maybe: str | None
    required: str  # some items break their promise: None here must be a located error
    big: int  # beyond 32 bits for some: the Int scalar refuses it

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("broken resolver")


def _items() -> list[Item]:
    rows: list[tuple[Any, ...]] = [
        ("1", "a", 1, Colour.RED, None, "x", 5),
        ("2", "b", 2, Colour.BLUE, "m", None, 5),
        ("3", "c", 3, "green", "m", "z", 2**40),
    ]
    names = ("id", "name", "count", "colour", "maybe", "required", "big")
    return [Item(**dict(zip(names, row, strict=True))) for row in rows]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return list(_items())

    @strawberry.field
    def strict(self) -> list[Item]:
        return list(_items())


QUERIES = [
    "{ items { id name count colour maybe } }",
    "{ items { id required } }",
    "{ items { big } }",
    "{ items { colour } }",
    "{ items { shout(times: 2) broken } }",
    "{ strict { id required } }",
    "{ items { n: name name } }",
]


def _run(context_class: Any, query: str) -> str:
    schema = strawberry.Schema(query=Query, execution_context_class=context_class)
    result = schema.execute_sync(query)
    errors = sorted(json.dumps(e.formatted, sort_keys=True) for e in result.errors or [])
    return json.dumps({"data": result.data, "errors": errors}, sort_keys=True)


@pytest.mark.parametrize("query", QUERIES)
def test_the_lean_path_answers_as_graphql_core_does(query: str) -> None:
    stock = _run(None, query)
    assert _run(LeanExecutionContext, query) == stock


def test_the_cases_compared_include_errors_and_nulls() -> None:
    # The comparison above is only worth something if the stock answers hold the hard cases.
    answers = [json.loads(_run(None, q)) for q in QUERIES]
    assert any("Int cannot represent" in e for a in answers for e in a["errors"])
    assert any("Cannot return null for non-nullable" in e for a in answers for e in a["errors"])
    assert any("Enum 'Colour' cannot represent" in e for a in answers for e in a["errors"])
    assert any("broken resolver" in e for a in answers for e in a["errors"])
