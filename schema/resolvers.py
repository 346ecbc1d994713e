"""Our resolvers called straight from graphql-core, with what strawberry does around them worked out once.

For every field with a resolver of ours, strawberry's resolver runs a chain per call: an `async` wrapper,
the strawberry `Info`, each argument's GraphQL name worked out again from its Python name and its value
converted through a chain of type checks, the field extensions folded into partials (the permission
extension that `permission_classes` adds: one more coroutine, awaiting each permission's answer), then
the resolver. On a leaderboard screen (three resolvers) that chain was about 8% of the request, on
`recordPurchase` about 5%.

Here each such field gets one function that does the same steps in the same order: the same `Info`; the
arguments converted as strawberry converts them (scalars and enums taken as they come, as strawberry takes
them; an input object handed to its one-pass builder, schema/inputs.py, where strawberry's chain of checks
would end; anything else by strawberry's own `convert_argument`); each permission asked with the keyword
arguments strawberry shows it; then the resolver called as strawberry calls it (`self` as the source,
`info` by its parameter's name). What a resolver returns, a coroutine included, goes to graphql-core as it is.

A field keeps strawberry's chain when anything else is involved: a field extension other than the
permission one, a permission that may answer asynchronously or that fails silently, an exception handler of
the schema, a subscription. And a permission that answers anything but True (ours raise a coded error
instead of answering False) hands the call to strawberry's chain, which answers it as strawberry does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo
from strawberry import Schema
from strawberry.permission import PermissionExtension
from strawberry.relay.types import GlobalID
from strawberry.types.arguments import InputContext, _is_leaf_type, _is_optional_leaf_type, convert_argument
from strawberry.types.base import StrawberryMaybe, StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.field import StrawberryField

# An argument: its GraphQL name, its Python name, and how its value is converted (None: as it comes).
_Argument = tuple[str, str, Callable[[Any, Any], Any] | None]


def call_resolvers_directly(schema: Schema) -> None:
    """Give every eligible field of the built schema its direct resolver."""
    if schema.schema_converter._exception_handler_specs:
        return  # handlers may turn an exception into a result: strawberry's chain does that
    for graphql_type in schema._schema.type_map.values():
        if (
            not isinstance(graphql_type, GraphQLObjectType)
            or graphql_type is schema._schema.subscription_type
        ):
            continue
        for graphql_field in graphql_type.fields.values():
            definition = (graphql_field.extensions or {}).get("strawberry-definition")
            if isinstance(definition, StrawberryField) and _eligible(definition):
                graphql_field.resolve = _direct(schema, definition, graphql_field.resolve)


def _eligible(field: StrawberryField) -> bool:
    if field.base_resolver is None or field.is_subscription or not callable(field.base_resolver.wrapped_func):
        return False
    for extension in field.extensions:
        if type(extension) is not PermissionExtension or extension.fail_silently:
            return False
        if any(inspect.iscoroutinefunction(p.has_permission) for p in extension.permissions):
            return False
    return True


def _direct(schema: Schema, field: StrawberryField, strawberrys: Callable[..., Any]) -> Callable[..., Any]:
    resolver = field.base_resolver
    assert resolver is not None
    function: Callable[..., Any] = resolver.wrapped_func  # type: ignore[assignment]  # callable: _eligible
    info_class = schema.config.info_class
    permissions = [
        p
        for extension in field.extensions
        if isinstance(extension, PermissionExtension)
        for p in extension.permissions
    ]
    passes_self = resolver.self_parameter is not None
    source_names = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    arguments: list[_Argument] | None = None

    def resolve(source: Any, info: GraphQLResolveInfo[Any], **given: Any) -> Any:
        nonlocal arguments
        if arguments is None:  # argument types resolve once the whole schema exists
            arguments = _arguments(schema, field)
        strawberry_info = info_class(_raw_info=info, _field=field)
        kwargs: dict[str, Any] = {}
        for graphql_name, python_name, convert in arguments:
            if graphql_name in given:
                value = given[graphql_name]
                kwargs[python_name] = value if convert is None else convert(value, strawberry_info)
        # The permissions see what strawberry shows them: the resolver's keyword arguments, its `info`
        # among them only when the parameter has another name.
        for name in source_names:
            kwargs[name] = source
        if info_name is not None and info_name != "info":
            kwargs[info_name] = strawberry_info
        for permission in permissions:
            if permission.has_permission(source, strawberry_info, **kwargs) is not True:
                return strawberrys(source, info, **given)  # strawberry refuses it its way
        if info_name == "info":
            kwargs["info"] = strawberry_info
        return function(source, **kwargs) if passes_self else function(**kwargs)

    return resolve


def _arguments(schema: Schema, field: StrawberryField) -> list[_Argument]:
    registry = schema.schema_converter.scalar_registry
    config = schema.config
    out: list[_Argument] = []
    for argument in field.arguments:
        graphql_name = config.name_converter.from_argument(argument)
        argument_type = argument.type
        as_is = not isinstance(argument_type, StrawberryMaybe) and (
            _is_leaf_type(argument_type, registry, (GlobalID,))
            or _is_optional_leaf_type(argument_type, registry, (GlobalID,))
        )
        convert = None if as_is else _converter(argument_type, graphql_name, schema)
        out.append((graphql_name, argument.python_name, convert))
    return out


def _converter(argument_type: Any, graphql_name: str, schema: Schema) -> Callable[[Any, Any], Any]:
    registry, config, path = schema.schema_converter.scalar_registry, schema.config, (graphql_name,)
    # An input object (RecordPurchaseInput...) goes straight to the builder strawberry's conversion would
    # reach after its chain of type checks (schema/inputs.py gives every input type one).
    inner: Any = argument_type.of_type if type(argument_type) is StrawberryOptional else argument_type
    definition = getattr(inner, "__strawberry_definition__", None)
    if isinstance(definition, StrawberryObjectDefinition) and definition.is_input and definition.from_input:
        from_input = definition.from_input

        def build(value: Any, info: Any) -> Any:
            if value is None:
                return None
            return from_input(
                inner, value, InputContext(info=info, config=config, scalar_registry=registry, path=path)
            )

        return build

    def convert(value: Any, info: Any) -> Any:
        return convert_argument(value, argument_type, registry, config, info, path=path)

    return convert
