"""Queries run from a plan worked out once per operation, when every root field's answer is read plainly.

graphql-core does the same bookkeeping on every request before and around our resolvers: an executor built
with its error collector, async helpers and caches; the operation's root fields collected again; each
field's arguments coerced from the AST again, literal or not; a task and an abort wrapper per async root
field. On a leaderboard screen (three root fields, each one Redis call) that was a fifth of the request's
CPU, more than the Redis calls themselves.

A query whose selection cannot change from one request to the next (no directive, no fragment variable:
the rule schema/execution.py caches readers by) and whose root fields' values all have a reader there gets
a plan: per root field, its resolver, the arguments that do not depend on variables coerced once (the
variables it takes as a whole are looked up per request; anything else is coerced per request by
graphql-core's `get_argument_values`), and the reader that turns its value into the answer's JSON.

Running a plan calls each root field's resolver as graphql-core calls it, with the same `Info` (strawberry's,
graphql-core's fields), then awaits each one in the operation's order and reads its value. It answers only
when everything went plainly: a resolver that raises, a value a reader gives up on (a null where the schema
promises a value, say), a variable graphql-core would refuse, and the plan answers nothing; graphql-core then
runs the operation from the start and answers it with its located errors. Doing a query's reads a second
time is harmless: queries only read. Mutations and subscriptions always take graphql-core's path.

Root fields are awaited one after the other, not as concurrent tasks: a task and a gather per request cost
more CPU than they saved waiting on a screen's few fast reads (Redis round trips of a few hundred
microseconds each).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    GraphQLString,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    ValueNode,
    VariableNode,
    get_argument_values,
    get_variable_values,
    is_non_null_type,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import collect_fields
from graphql.execution.get_variable_signature import GraphQLVariableSignature, get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource, coerce_argument
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo

from schema.execution import LeanExecutionContext, Reader, fixed_selection, same

# Argument values that may be handed to every request's resolver call: nothing a resolver could change.
_IMMUTABLE = (str, int, float, bool, type(None), Enum)


class _GiveUp(Exception):
    """The plan cannot answer this request as graphql-core would: graphql-core runs it."""


@dataclass(frozen=True, slots=True)
class _RootField:
    response_name: str
    definition: GraphQLField | None  # None: __typename
    nodes: list[FieldNode]
    # The arguments that do not depend on variables, coerced once; those given as a whole variable
    # (Python name, variable, whether null is refused); or None: all coerced per request by graphql-core.
    fixed: dict[str, Any]
    variables: tuple[tuple[str, str, bool], ...] | None
    read: Reader

    def arguments(self, variables: VariableValues) -> dict[str, Any]:
        assert self.definition is not None
        if self.variables is None:
            return get_argument_values(self.definition, self.nodes[0], variables)
        if not self.variables:
            return self.fixed
        args = dict(self.fixed)
        coerced = variables.coerced
        for name, variable, required in self.variables:
            if variable not in coerced:
                # The argument's default, or graphql-core's error: its rules, in its order.
                return get_argument_values(self.definition, self.nodes[0], variables)
            value = coerced[variable]
            if value is None and required:
                raise _GiveUp
            args[name] = value
        return args


# A variable of the operation: its name, its signature, the one Python type whose values its scalar takes
# unchanged (None: any other type), and whether it may be null.
_Variable = tuple[str, GraphQLVariableSignature, type | None, bool]

# Scalars whose `parse_value` returns a value of this exact type as it is (an Int within 32 bits).
_TAKEN_AS_THEY_COME: dict[Any, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}
_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1


@dataclass(frozen=True, slots=True)
class Plan:
    operation: OperationDefinitionNode
    root_type: GraphQLObjectType
    fragment_definitions: dict[str, Any]
    fields: tuple[_RootField, ...]
    variables: tuple[_Variable, ...] | None  # None: coerced by graphql-core on every request

    def coerce(self, schema: GraphQLSchema, raw: dict[str, Any]) -> VariableValues | list[GraphQLError]:
        """The variables as graphql-core's `get_variable_values` coerces them: a string for a String or an
        ID, a bool for a Boolean, a 32-bit int for an Int, or null where allowed, taken as they come;
        anything else (a default to apply, a list, an input object, a value to convert or to refuse) by
        graphql-core, all of them."""
        if self.variables is not None:
            sources: dict[str, VariableValueSource] = {}
            coerced: dict[str, Any] = {}
            for name, signature, kind, nullable in self.variables:
                value: Any = raw.get(name, Undefined)
                if type(value) is not kind:
                    if value is not None or not nullable:
                        break
                elif kind is int and not _MIN_INT <= cast(int, value) <= _MAX_INT:
                    break
                sources[name] = VariableValueSource(signature, value)
                coerced[name] = value
            else:
                return VariableValues(sources, coerced)
        return get_variable_values(schema, self.operation.variable_definitions or (), raw)

    async def run(
        self,
        schema: GraphQLSchema,
        raw_variables: dict[str, Any] | None,
        root_value: Any,
        context: Any,
        operation_extensions: dict[str, Any] | None,
        is_awaitable: Callable[[Any], bool],
    ) -> dict[str, Any] | None:
        """The operation's data, or None when graphql-core must answer (see the module's docstring)."""
        variables = self.coerce(schema, raw_variables or {})
        if isinstance(variables, list):
            return None  # graphql-core reports them
        root_type = self.root_type
        data: dict[str, Any] = {}
        pending: list[tuple[_RootField, Any]] = []
        try:
            for field in self.fields:
                definition = field.definition
                if definition is None:
                    data[field.response_name] = root_type.name
                    continue
                info = _OperationContextAwareGraphQLResolveInfo(
                    field.nodes[0].name.value,
                    field.nodes,
                    definition.type,
                    root_type,
                    Path(None, field.response_name, root_type.name),
                    schema,
                    self.fragment_definitions,
                    root_value,
                    self.operation,
                    variables.coerced,
                    context,
                    is_awaitable,
                    None,
                    _HELPERS,
                    operation_extensions,  # type: ignore[arg-type]  # None too, as strawberry passes it
                )
                result = (definition.resolve or _no_resolver)(root_value, info, **field.arguments(variables))
                if is_awaitable(result):
                    data[field.response_name] = None  # its place in the answer's order
                    pending.append((field, result))
                else:
                    data[field.response_name] = field.read(result)
            while pending:
                field, awaitable = pending[0]
                value = await awaitable
                del pending[0]
                data[field.response_name] = field.read(value)
        except Exception:
            for _, awaitable in pending:  # not started: nothing to cancel, only to dispose of
                close = getattr(awaitable, "close", None) or getattr(awaitable, "cancel", None)
                if close is not None:
                    close()
            return None
        return data


def _no_resolver(source: Any, info: Any, **_args: Any) -> Any:
    raise _GiveUp  # graphql-core's default resolver for a root field without one: its business


def _track(values: Sequence[Any]) -> None:
    """What graphql-core's executor does with work a resolver hands it to settle: settled in the
    background, so that its errors are observed."""
    awaitables = [value for value in values if asyncio.isfuture(value) or asyncio.iscoroutine(value)]
    if awaitables:
        future = asyncio.gather(*awaitables, return_exceptions=True)
        _background.add(future)
        future.add_done_callback(_background.discard)


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)


_background: set[asyncio.Future[Any]] = set()
_HELPERS = GraphQLResolveInfoHelpers(gather=_gather, track=_track)


def build(executor: LeanExecutionContext) -> Plan | None:
    """The plan of the executor's operation, or None when it cannot have one."""
    operation = executor.operation
    if (
        operation.operation is not OperationType.QUERY
        or not executor.lean
        or not fixed_selection(operation, executor.fragments)
        or any(details.variable_signatures for details in executor.fragments.values())
    ):
        return None
    schema = executor.schema
    root_type = schema.query_type
    if root_type is None:
        return None
    grouped, defer_usages, _ = collect_fields(
        schema, executor.fragments, executor.variable_values, root_type, operation
    )
    if defer_usages:
        return None
    fields = []
    for response_name, details in grouped.items():
        if any(d.fragment_variable_values is not None or d.defer_usage is not None for d in details):
            return None
        nodes = [d.node for d in details]
        if nodes[0].name.value == "__typename":
            fields.append(_RootField(response_name, None, nodes, {}, (), same))
            continue
        definition = schema.get_field(root_type, nodes[0].name.value)
        if definition is None:
            return None
        read = executor.reader(definition.type, details)
        if read is None:
            return None
        fixed, variables = _arguments(definition, nodes[0])
        fields.append(_RootField(response_name, definition, nodes, fixed, variables, read))
    return Plan(
        operation, root_type, executor.fragment_definitions, tuple(fields), _variables(schema, operation)
    )


def _variables(schema: GraphQLSchema, operation: OperationDefinitionNode) -> tuple[_Variable, ...] | None:
    variables = []
    for definition in operation.variable_definitions or ():
        signature = get_variable_signature(schema, definition)
        if isinstance(signature, GraphQLError):
            return None
        nullable = not isinstance(signature.type, GraphQLNonNull)
        named = signature.type if nullable else signature.type.of_type  # type: ignore[union-attr]
        variables.append((signature.name, signature, _TAKEN_AS_THEY_COME.get(named), nullable))
    return tuple(variables)


def _arguments(
    definition: GraphQLField, node: FieldNode
) -> tuple[dict[str, Any], tuple[tuple[str, str, bool], ...] | None]:
    """The arguments coerced once, and those taken whole from a variable; (…, None) when they must all be
    coerced per request."""
    given = {argument.name.value: argument for argument in node.arguments or ()}
    fixed: dict[str, Any] = {}
    variables: list[tuple[str, str, bool]] = []
    for name, argument in definition.args.items():
        python_name = argument.out_name or name
        argument_node = given.get(name)
        if argument_node is not None and isinstance(argument_node.value, VariableNode):
            variables.append((python_name, argument_node.value.name.value, is_non_null_type(argument.type)))
            continue
        if argument_node is not None and _uses_variables(argument_node.value):
            return {}, None
        values: dict[str, Any] = {}
        try:
            coerce_argument(values, node, name, argument, argument_node, None, None)
        except GraphQLError:
            return {}, None  # graphql-core reports it, on every request
        if python_name in values:
            value = values[python_name]
            if not isinstance(value, _IMMUTABLE):
                return {}, None
            fixed[python_name] = value
    return fixed, tuple(variables)


def _uses_variables(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_uses_variables(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_uses_variables(field.value) for field in value.fields)
    return False


# Plans by schema, document and operation name (None: the document cannot have one); the entries hold
# the schema and the document, so that their ids are not reused while cached.
_plans: dict[tuple[int, int, str | None], tuple[GraphQLSchema, DocumentNode, Plan | None]] = {}
_MAX_PLANS = 512


def for_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    executor: Callable[[], Executor[Any] | list[GraphQLError]],
) -> Plan | None:
    """The operation's plan, worked out the first time from `executor` (built as graphql-core builds it for
    this request), or None when it cannot have one."""
    key = (id(schema), id(document), operation_name)
    entry = _plans.get(key)
    if entry is not None and entry[1] is document:
        return entry[2]
    built = executor()
    if isinstance(built, list):
        return None  # the request's variables are refused: graphql-core reports it; try again next time
    plan = build(built) if isinstance(built, LeanExecutionContext) else None
    if len(_plans) >= _MAX_PLANS:
        _plans.clear()
    _plans[key] = (schema, document, plan)
    return plan
