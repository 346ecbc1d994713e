"""Input objects (RecordPurchaseInput and the others) built from a request's values in one pass.

For every input object of every request, strawberry works out each field's GraphQL name and resolves its
type annotation again before converting its value: on `recordPurchase`, the largest part of what GraphQL
costs besides execution itself. strawberry lets a type build its own values (`from_input`, the hook its
pydantic integration uses); here each input type gets a builder that does what strawberry does, with the
names and types worked out once: scalars (and nulls) are taken as they come, as strawberry takes them, and
anything else (enums, lists, nested inputs) is converted by strawberry itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

from graphql import GraphQLInputObjectType
from strawberry import Schema
from strawberry.types.arguments import InputContext, _is_leaf_type, _is_optional_leaf_type
from strawberry.types.base import StrawberryObjectDefinition

# Per field: its GraphQL name, its Python name, its type, and whether its value is taken as it comes.
_Plan = list[tuple[str, str, Any, bool]]


def build_inputs_in_one_pass(schema: Schema) -> None:
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLInputObjectType):
            continue
        definition = (graphql_type.extensions or {}).get("strawberry-definition")
        if isinstance(definition, StrawberryObjectDefinition) and definition.from_input is None:
            definition.from_input = _builder(definition, schema)


def _builder(
    definition: StrawberryObjectDefinition, schema: Schema
) -> Callable[[type, Mapping[str, Any], InputContext], Any]:
    # Fields without a default are None unless given (graphql-core has checked the required ones are).
    implicit = {
        f.python_name: None
        for f in definition.fields
        if f.default_value is MISSING and f.default_factory is MISSING
    }
    plan: _Plan | None = None

    def build(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        nonlocal plan
        if plan is None:  # the types resolve once the whole schema exists
            plan = _plan(definition, schema, context)
        kwargs: dict[str, Any] = dict(implicit)
        for graphql_name, python_name, field_type, as_is in plan:
            if graphql_name in value:
                given = value[graphql_name]
                kwargs[python_name] = (
                    given if as_is or given is None else context.convert(given, field_type, graphql_name)
                )
        return cls(**kwargs)

    return build


def _plan(definition: StrawberryObjectDefinition, schema: Schema, context: InputContext) -> _Plan:
    plan = []
    for field in definition.fields:
        field_type = field.resolve_type(type_definition=definition)
        registry = context.scalar_registry
        as_is = _is_leaf_type(field_type, registry, ()) or _is_optional_leaf_type(field_type, registry, ())
        plan.append((schema.config.name_converter.from_field(field), field.python_name, field_type, as_is))
    return plan
