"""The schema is the mobile team's manual: every type, field, argument, input field and enum value says
what it is, its limits and units, and who may call it.

A pure unit test on the built schema: no server, no database.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    specified_scalar_types,
)

from app.settings import Settings
from schema import build_schema


@pytest.fixture(autouse=True)
def _clean() -> None:
    """Replaces the suite's autouse fixture of that name, which starts the API server and empties the
    database and Redis: this module reads the schema only."""


def undocumented(schema: GraphQLSchema) -> list[str]:
    """`Type`, `Type.field`, `Type.field(argument)` and `Enum.VALUE` of everything without a description;
    GraphQL's own introspection types and scalars are not ours to describe."""
    return [
        what
        for name, named in sorted(schema.type_map.items())
        if not name.startswith("__") and name not in specified_scalar_types
        for what, description in _described(named)
        if not (description or "").strip()
    ]


def _described(named: GraphQLNamedType) -> Iterator[tuple[str, str | None]]:
    name = named.name
    yield name, named.description
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, field in named.fields.items():
            yield f"{name}.{field_name}", field.description
            for arg_name, arg in field.args.items():
                yield f"{name}.{field_name}({arg_name})", arg.description
    elif isinstance(named, GraphQLInputObjectType):
        for field_name, input_field in named.fields.items():
            yield f"{name}.{field_name}", input_field.description
    elif isinstance(named, GraphQLEnumType):
        for value_name, value in named.values.items():
            yield f"{name}.{value_name}", value.description


def test_everything_in_the_schema_has_a_description(tmp_path: Path) -> None:
    schema = build_schema(Settings(var_dir=tmp_path, jwt_secret="x" * 32))

    missing = undocumented(schema._schema)

    assert not missing, f"{len(missing)} without a description:\n" + "\n".join(missing)


@strawberry.enum
class Colour(Enum):
    RED = "red"


@strawberry.input
class Paint:
    colour: Colour


@strawberry.type(name="Query", description="Described.")
class PaintQuery:
    @strawberry.field
    def mix(self, paint: Paint) -> int:
        return 0


def test_the_check_names_each_kind_of_undocumented_member() -> None:
    missing = undocumented(strawberry.Schema(query=PaintQuery)._schema)

    assert missing == ["Colour", "Colour.RED", "Paint", "Paint.colour", "Query.mix", "Query.mix(paint)"]
