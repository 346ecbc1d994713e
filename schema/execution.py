"""A leaner way through graphql-core for the fields that only read an attribute.

Most fields of a screen are leaves read straight off a Python object (a challenge's title, a step's target):
strawberry gives them a resolver that ignores its arguments (`_is_default`), yet graphql-core still builds a
ResolveInfo, looks for arguments and dispatches on the type for each of them. On the home screen (about 600
fields) that was most of the request. Here such a field is read and serialized directly; anything else (a
resolver of ours, arguments, a middleware, a null or a value the scalar refuses, which need graphql-core's
error) takes graphql-core's own path, which then does the work again and reports it as usual.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# Per field definition: the leaf type to serialize with, or None when the field must take the long way.
_Plan = GraphQLLeafType | None
_plans: dict[int, tuple[GraphQLField, _Plan]] = {}


def _plan(field: GraphQLField) -> _Plan:
    found = _plans.get(id(field))
    if found is not None and found[0] is field:
        return found[1]
    named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    plain = bool(getattr(field.resolve, "_is_default", False)) and not field.args and is_leaf_type(named)
    plan: _Plan = named if plain else None  # type: ignore[assignment]
    _plans[id(field)] = (field, plan)  # the field kept alive beside its id, so the id is never reused
    return plan


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        field = self.schema.get_field(parent_type, node.name.value)
        # A middleware (strawberry makes one of extensions with a `resolve` hook) must see every field.
        middleware = self.middleware_manager
        plain = middleware is None or middleware._middleware_resolvers is None
        if field is not None and plain and not node.arguments:
            leaf = _plan(field)
            if leaf is not None:
                try:
                    value = field.resolve(source, None)  # type: ignore[misc]
                    serialized = None if value is None else leaf.serialize(value)
                except Exception:
                    value = serialized = Undefined
                if serialized is not None and serialized is not Undefined:
                    return serialized
                if value is None and not isinstance(field.type, GraphQLNonNull):
                    return None
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
