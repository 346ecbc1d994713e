"""The lean path through graphql-core answers what graphql-core's own path answers, errors included."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache
from strawberry.permission import BasePermission

from schema.execution import LeanExecutionContext


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Never(BasePermission):
    message = "never"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Step:
    target: int
    label: str  # None for some: a null inside a list of plain objects


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    count: int
    colour: Colour
    maybe: str | None
    required: str  # some items break their promise: None here must be a located error
    big: int  # beyond 32 bits for some: the Int scalar refuses it
    steps: list[Step]
    parent: Step | None
    # A plain attribute behind a permission: the lean path must not read around it.
    secret: str = strawberry.field(default="s3cret", permission_classes=[Never])

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("broken resolver")


def _items() -> list[Item]:
    good = [Step(target=1, label="one"), Step(target=2, label="two")]
    bad = [Step(target=3, label=None)]  # type: ignore[arg-type]
    rows: list[tuple[Any, ...]] = [
        ("1", "a", 1, Colour.RED, None, "x", 5, good, None),
        ("2", "b", 2, Colour.BLUE, "m", None, 5, bad, Step(target=4, label="four")),
        ("3", "c", 3, "green", "m", "z", 2**40, [], Step(target=5, label=None)),  # type: ignore[arg-type]
        # Values each scalar turns into another (an int id, an int name, a bool count), and Int's bound.
        (9, 7, True, Colour.RED, None, "r", -(2**31), [], None),
    ]
    names = ("id", "name", "count", "colour", "maybe", "required", "big", "steps", "parent")
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
    "{ strict { id steps { target } parent { target } } }",
    "{ strict { id steps { target label } } }",
    "{ items { id steps { label } } }",
    "{ items { parent { target label } } }",
    "{ strict { __typename id ... on Item { name steps { __typename target } } ...more } } "
    "fragment more on Item { count colour }",
    "{ strict { id steps { target } ... @include(if: false) { name } } }",
    "{ strict { id name @skip(if: true) steps @include(if: true) { target } } }",
    "{ strict { id a: steps { target } a: steps { label } } }",
    "{ strict { id secret } }",
    # One fragment's field merged with another in one place only: two selections under one node.
    "{ strict { ...S steps { label } } again: strict { ...S } } fragment S on Item { id steps { target } }",
]


def _run(context_class: Any, query: str, schema: Any = None, variables: Any = None) -> str:
    schema = schema or strawberry.Schema(query=Query, execution_context_class=context_class)
    result = schema.execute_sync(query, variable_values=variables)
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
    assert any('"message": "never"' in e for a in answers for e in a["errors"])
    # A null deep in a list of plain objects, and one of a nullable object's non-null fields.
    assert any('"path": ["strict", 1, "steps", 0, "label"]' in e for a in answers for e in a["errors"])
    assert any('"path": ["items", 2, "parent", "label"]' in e for a in answers for e in a["errors"])


def test_plain_subtrees_take_the_lean_path() -> None:
    # Answers equal to graphql-core's prove nothing if the lean path never ran: count the resolvers called.
    calls: list[str] = []

    class Counting(LeanExecutionContext):
        def execute_field(self, parent_type: Any, *args: Any) -> Any:
            calls.append(parent_type.name)
            return super().execute_field(parent_type, *args)

    _run(Counting, "{ strict { id name steps { target } parent { target } } }")
    assert calls == ["Query"]  # the list and every field below it read in one pass
    calls.clear()
    _run(Counting, "{ strict { id shout } }")
    assert calls == ["Query"] + ["Item"] * 8  # a resolver with arguments: field by field


def test_readers_kept_across_requests_follow_each_requests_variables() -> None:
    # One schema, one operation text: the second request finds the first one's readers, unless a directive
    # (whose outcome depends on the variables) keeps them per request.
    lean = strawberry.Schema(
        query=Query, execution_context_class=LeanExecutionContext, extensions=[ParserCache]
    )
    stock = strawberry.Schema(query=Query)
    queries = [
        "query($x: Boolean!) { strict { id steps { target } "
        "... @include(if: $x) { name steps { label } } } }",
        "query($x: Boolean!) { strict { id ...F @skip(if: $x) } } "
        "fragment F on Item { name parent { target } }",
        "{ strict { id name steps { target } } }",
    ]
    answers = set()
    for query in queries:
        for x in (True, False, True):
            expected = _run(None, query, stock, {"x": x})
            assert _run(None, query, lean, {"x": x}) == expected
            answers.add(expected)
    assert len(answers) == 5  # the variables did change the answers compared


def test_an_operation_without_directives_reuses_its_readers() -> None:
    built: list[str] = []

    class Counting(LeanExecutionContext):
        def _build(self, return_type: Any, field_details_list: Any) -> Any:
            built.append(str(return_type))
            return super()._build(return_type, field_details_list)

    # Readers are kept per operation object: the parser cache hands out the same one (as in schema/).
    schema = strawberry.Schema(query=Query, execution_context_class=Counting, extensions=[ParserCache])
    query = "{ strict { id name steps { target } } }"
    first = _run(None, query, schema)
    assert built
    built.clear()
    assert _run(None, query, schema) == first
    assert built == []
