"""A leaner way through graphql-core for the parts of an answer that are plain data.

Most of a screen is read straight off Python objects: a challenge's title, its steps and their targets, the
badge it grants. strawberry gives such fields a resolver that only reads the attribute (`_is_default`), yet
graphql-core still builds a ResolveInfo and a Path for each, looks for arguments, dispatches on the type,
collects the sub-selection and checks for awaitables, field by field and item by item: on the home screen
(about 600 fields) that was most of the request.

Here, once per operation and selection, a *reader* is built for every subtree made only of such fields (leaf
scalars and enums, objects without `is_type_of`, lists and non-nulls of those, `__typename`, no arguments
and no directives): a few nested closures that turn the Python value into the answer's JSON in one pass.
Anything a reader cannot vouch for (a null where the schema promises a value, a value the scalar refuses,
an awaitable, a missing attribute) makes it give up, and graphql-core's own path completes that value again
from the start, with its located errors: reading an attribute twice is harmless. A resolver of ours, an
argument, a directive, an abstract type or a middleware (strawberry makes one of extensions with a `resolve`
hook, which must see every field) always takes graphql-core's path.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from graphql import (
    BREAK,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    OperationDefinitionNode,
    Undefined,
    Visitor,
    is_enum_type,
    is_leaf_type,
    visit,
)
from graphql.execution.executor_throwing_on_incremental import ExecutorThrowingOnIncremental
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

Reader = Callable[[Any], Any]

# Their serializers refuse anything but plain values (an awaitable included); other scalars may not.
_STRICT_SCALARS = (GraphQLString, GraphQLInt, GraphQLFloat, GraphQLBoolean, GraphQLID)


# A reader of values of a type, or of a field of a parent type, for one selection.
_VALUE, _FIELD = 0, 1
_Readers = dict[tuple[int, int, Any], tuple[object, object, "Reader | None"]]

# Readers outlive the request when nothing in the operation can change its selection from one request to the
# next: no directive at all (an @include(if: $x) would). Documents come from strawberry's parser cache, so a
# screen's operation is the same object on every request; entries hold the schema and the operation, so
# that their ids are not reused while cached.
_by_operation: dict[tuple[int, int], tuple[object, OperationDefinitionNode, _Readers]] = {}
_MAX_OPERATIONS = 512


class _Directives(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter(self, node: Any, *_args: Any) -> Any:
        if getattr(node, "directives", None):
            self.found = True
            return BREAK
        return None


def fixed_selection(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> bool:
    for node in (operation, *(details.definition for details in fragments.values())):
        seen = _Directives()
        visit(node, seen)
        if seen.found:
            return False
    return True


class _GiveUp(Exception):
    """A value the reader cannot complete as graphql-core would: graphql-core completes it instead."""


class _StrawberryExecutor(ExecutorThrowingOnIncremental):
    """strawberry's execution context (the request's operation extensions on `Info`) on graphql-core's
    executor without incremental delivery, which graphql-core's own `execute` uses. strawberry bases its
    context on the incremental executor, for @defer and @stream, which this schema does not enable: its
    bookkeeping (a delivery graph built and settled per operation) cost about 2% of a `recordPurchase`
    request. An operation that asks for @defer or @stream fails validation: the schema has no such directive.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        operation_extensions = kwargs.pop("operation_extensions", None)
        super().__init__(*args, **kwargs)
        self.operation_extensions = operation_extensions

    build_resolve_info = StrawberryGraphQLCoreExecutionContext.build_resolve_info  # no super() inside


class LeanExecutionContext(_StrawberryExecutor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        self.lean = middleware is None or middleware._middleware_resolvers is None
        # Readers of values by (type, selection), and of fields by (parent type, selection); the objects
        # are kept beside their ids, so that an id is never reused while the entry exists.
        self._readers: _Readers = {}
        key = (id(self.schema), id(self.operation))
        cached = _by_operation.get(key)
        if cached is not None:
            self._readers = cached[2]
        elif fixed_selection(self.operation, self.fragments):
            if len(_by_operation) >= _MAX_OPERATIONS:
                _by_operation.clear()
            _by_operation[key] = (self.schema, self.operation, self._readers)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        if self.lean:
            read = self._cached(_FIELD, parent_type, field_details_list)
            if read is not None:
                try:
                    return read(source)
                except Exception:  # graphql-core does it again, and reports it
                    pass
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        # The value a resolver of ours returned (a list of challenges, a page of entries): read it in one go.
        if self.lean and not isinstance(result, Exception):
            read = self.reader(return_type, field_details_list)
            if read is not None:
                try:
                    return read(result)
                except Exception:  # graphql-core does it again, and reports it
                    pass
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def reader(self, return_type: GraphQLOutputType, field_details_list: Any) -> Reader | None:
        return self._cached(_VALUE, return_type, field_details_list)

    def _cached(self, kind: int, graphql_type: Any, field_details_list: Any) -> Reader | None:
        # The nodes merged under one response name decide the selection (a fragment's field may be merged
        # with others in one place and not in another).
        if len(field_details_list) == 1:
            nodes: Any = field_details_list[0].node
            key: tuple[int, int, Any] = (kind, id(graphql_type), id(nodes))
        else:
            nodes = tuple(details.node for details in field_details_list)
            key = (kind, id(graphql_type), tuple(map(id, nodes)))
        found = self._readers.get(key)
        if found is not None:
            return found[2]
        if kind == _VALUE:
            read = self._build(graphql_type, field_details_list)
        else:
            read = self._build_field(graphql_type, field_details_list)
        self._readers[key] = (graphql_type, nodes, read)
        return read

    def _build_field(self, parent_type: GraphQLObjectType, field_details_list: Any) -> Reader | None:
        """The field's value read off its parent's source and completed, when both can be done plainly."""
        parts = self._plain_parts(parent_type, field_details_list)
        if parts is None:
            return None
        get, read = parts
        return lambda source: read(get(source))

    def _plain_parts(self, parent_type: GraphQLObjectType, details: Any) -> tuple[Reader, Reader] | None:
        """How to get a field's value off its parent's source, and how to complete it."""
        field = self.schema.get_field(parent_type, details[0].node.name.value)
        if field is None or not _plain(field, details):
            return None
        read = self.reader(field.type, details)
        return None if read is None else (_getter(field), read)

    def _build(self, return_type: GraphQLOutputType, field_details_list: Any) -> Reader | None:
        if isinstance(return_type, GraphQLNonNull):
            inner = self.reader(return_type.of_type, field_details_list)
            return None if inner is None else _fast(return_type.of_type, _non_null(inner))
        if isinstance(return_type, GraphQLList):
            inner = self.reader(return_type.of_type, field_details_list)
            return None if inner is None else _list(inner)
        if is_leaf_type(return_type):
            return _fast(return_type, _leaf(return_type, self.is_awaitable))
        if not isinstance(return_type, GraphQLObjectType) or return_type.is_type_of is not None:
            return None  # an interface or a union: graphql-core resolves the runtime type
        return self._build_object(return_type, field_details_list)

    def _build_object(self, return_type: GraphQLObjectType, field_details_list: Any) -> Reader | None:
        grouped, defer_usages, _ = self.collect_subfields(return_type, field_details_list)
        if defer_usages:
            return None
        fields: list[tuple[str, Reader, Reader]] = []
        for response_name, details in grouped.items():
            node = details[0].node
            if node.name.value == "__typename":
                if not _no_directives(details):
                    return None
                fields.append((response_name, _constant(return_type.name), same))
                continue
            parts = self._plain_parts(return_type, details)
            if parts is None:
                return None
            fields.append((response_name, *parts))
        return _object(fields, self.is_awaitable)


def _plain(field: Any, field_details_list: Any) -> bool:
    """Read straight off the source: strawberry's attribute resolver, no arguments, no directives, and
    nothing strawberry wraps around the read (a permission class, a field extension): strawberry marks
    such a field `_is_default` too when it has no resolver of its own."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if definition is not None and (definition.extensions or definition.permission_classes):
        return False
    return (
        bool(getattr(field.resolve, "_is_default", False))
        and not field.args
        and not any(details.node.arguments for details in field_details_list)
        and _no_directives(field_details_list)
    )


def _no_directives(field_details_list: Any) -> bool:
    # @skip/@include were applied when the fields were collected; what is left (@stream, a custom
    # directive) is graphql-core's business.
    return not any(details.node.directives for details in field_details_list)


def _non_null(inner: Reader) -> Reader:
    def read(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise _GiveUp
        return completed

    return read


def _list(inner: Reader) -> Reader:
    def read(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise _GiveUp  # another iterable, or not one at all
        return [inner(item) for item in value]

    return read


def _leaf(leaf: GraphQLLeafType, is_awaitable: Callable[[Any], bool]) -> Reader:
    serialize = leaf.serialize
    strict = leaf in _STRICT_SCALARS or is_enum_type(leaf)

    def read(value: Any) -> Any:
        if value is None:
            return None
        if not strict and is_awaitable(value):
            raise _GiveUp
        try:
            serialized = serialize(value)
        except (GraphQLError, TypeError, ValueError):
            raise _GiveUp from None
        if serialized is None or serialized is Undefined:
            raise _GiveUp
        return serialized

    return read


_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1


def _fast(leaf: Any, general: Reader) -> Reader:
    """A value the scalar's serializer would return unchanged, returned at once (most of an answer's
    values); anything else goes the general way."""
    if leaf is GraphQLInt:

        def read_int(value: Any) -> Any:
            if type(value) is int and _MIN_INT <= value <= _MAX_INT:
                return value
            return general(value)

        return read_int
    if leaf is GraphQLString or leaf is GraphQLID:

        def read_str(value: Any) -> Any:
            return value if type(value) is str else general(value)

        return read_str
    if leaf is GraphQLBoolean:

        def read_bool(value: Any) -> Any:
            return value if value is True or value is False else general(value)

        return read_bool
    return general


def _object(fields: list[tuple[str, Reader, Reader]], is_awaitable: Any) -> Reader:
    # Classes whose instances were found not awaitable and have no attributes of their own (slots): whether
    # one is awaitable is a matter of its class, asked once (a page of board entries asked it per entry).
    plain: set[type] = set()

    def read(source: Any) -> Any:
        if source is None:
            return None
        if type(source) not in plain:
            if is_awaitable(source):
                raise _GiveUp
            if not hasattr(source, "__dict__"):
                plain.add(type(source))
        return {name: read_value(get(source)) for name, get, read_value in fields}

    return read


def _constant(value: str) -> Reader:
    return lambda _source: value


def _getter(field: GraphQLField) -> Reader:
    """The attribute read itself, without strawberry's two calls around it when its default resolver is
    getattr (a StrawberryConfig may name another)."""
    definition: Any = (field.extensions or {}).get("strawberry-definition")
    if getattr(definition, "default_resolver", None) is getattr and not definition.base_resolver:
        return attrgetter(definition.python_name)
    resolve = field.resolve
    return lambda source: resolve(source, None)  # type: ignore[misc]


def same(value: Any) -> Any:
    return value
