"""Resolvers called directly (schema/resolvers.py) answer what strawberry's own chain answers.

No `from __future__ import annotations` here: strawberry reads the annotations of the types below."""

import json
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission
from strawberry.relay import GlobalID

from schema.inputs import build_inputs_in_one_pass
from schema.resolvers import call_resolvers_directly


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.input
class Filter:
    colour: Colour
    counts: list[int]


class Allow(BasePermission):
    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return kwargs.get("n", 0) != 13  # sees the converted arguments


class Deny(BasePermission):
    message = "denied, as strawberry says it"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


class Refuse(BasePermission):
    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        raise ValueError("refused by raising")


SEEN: list[list[str]] = []


class Record(BasePermission):
    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        SEEN.append(sorted(kwargs))
        return True


class Upper(FieldExtension):
    def resolve(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return next_(source, info, **kwargs).upper()


@strawberry.type
class Item:
    name: str

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name * times

    @strawberry.field
    def parent_name(self, root: "Item") -> str:
        return f"root {root.name}"


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[Allow])
    def echo(
        self,
        info: strawberry.Info,
        n: int,
        s: str | None = None,
        colour: Colour = Colour.RED,
        colours: list[Colour] | None = None,
        f: Filter | None = None,
        ids: list[int] | None = None,
    ) -> str:
        return repr((info.field_name, n, s, colour, colours, f, ids))

    @strawberry.field(permission_classes=[Allow])
    async def later(self, n: int) -> int:
        return n * 2

    @strawberry.field(permission_classes=[Allow, Deny])
    def denied(self) -> str | None:
        return "leaked"

    @strawberry.field(permission_classes=[Refuse])
    def refused(self) -> str | None:
        return "leaked"

    @strawberry.field(permission_classes=[Record])
    def seen(self, root: Any, n: int = 1) -> int:
        return n

    @strawberry.field(permission_classes=[Record])
    def seen_as(self, information: strawberry.Info, parent: strawberry.Parent[Any], n: int = 1) -> str:
        return information.field_name

    @strawberry.field(extensions=[Upper()])
    def upper(self, s: str) -> str:
        return s

    @strawberry.field
    def node(self, id: GlobalID) -> str:
        return f"{id.type_name}:{id.node_id}"

    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(name="a"), Item(name="b")]


def _schema() -> strawberry.Schema:
    # Each schema has GraphQL fields of its own, whose resolvers call_resolvers_directly replaces.
    return strawberry.Schema(query=Query)


QUERIES = [
    "{ echo(n: 1) later(n: 4) items { name shout(times: 2) parentName } }",
    '{ echo(n: 2, s: "x", colour: BLUE, colours: [RED, BLUE], f: {colour: BLUE, counts: [1, 2]}, ids: [3]) }',
    "{ echo(n: 13) }",
    "{ later(n: 13) }",
    "{ denied }",
    "{ refused }",
    '{ upper(s: "quiet") }',
    '{ node(id: "SXRlbTox") }',
    '{ node(id: "not a global id") }',
]


def _shown(result: ExecutionResult) -> str:
    errors = [(e.message, e.path) for e in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors})


@pytest.mark.parametrize("query", QUERIES)
async def test_direct_resolvers_answer_what_strawberry_answers(query: str) -> None:
    stock = _schema()
    lean = _schema()
    build_inputs_in_one_pass(lean)  # as build_schema does: input arguments go to the builder it sets
    call_resolvers_directly(lean)
    expected = await stock.execute(query)
    answer = await lean.execute(query)
    assert _shown(answer) == _shown(expected)


async def test_permissions_see_the_keyword_arguments_strawberry_shows_them() -> None:
    # The source under the resolver's own name for it, `info` only when named otherwise.
    seen = []
    for schema in (_schema(), _schema()):
        if seen:
            call_resolvers_directly(schema)
        SEEN.clear()
        result = await schema.execute("{ seen(n: 2) seenAs echo(n: 3) }")
        assert result.errors is None
        seen.append(list(SEEN))
    assert seen[0] == [["n", "root"], ["information", "n", "parent"]]
    assert seen[1] == seen[0]


def test_only_fields_strawberry_would_call_plainly_are_replaced() -> None:
    stock, lean = _schema(), _schema()
    call_resolvers_directly(lean)
    replaced = {
        name
        for name, field in lean._schema.query_type.fields.items()  # type: ignore[union-attr]
        if field.resolve is not stock._schema.query_type.fields[name].resolve  # type: ignore[union-attr]
        and field.resolve.__qualname__.startswith("_direct")  # type: ignore[union-attr]
    }
    assert replaced == {
        "echo",
        "later",
        "denied",
        "refused",
        "node",
        "items",
        "seen",
        "seenAs",
    }  # not `upper`: another extension
