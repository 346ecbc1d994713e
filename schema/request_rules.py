"""Every request's rules, applied in one place.

strawberry builds each extension anew for every request and runs each hook as a context manager: eight small
extensions (limits, caches, error codes, the input guard) cost a quarter of a small request's GraphQL work.
These rules apply, in this order:

- operation: the parser's token limit and the validation rules (depth, aliases, and no introspection in
  production); on the way out, suggestions hidden (production), then every error coded (schema/errors.py);
- parse: each document text parsed once (an LRU of them);
- validate: each document validated once per set of rules (remembered by the document's identity);
- execute: the input guard (schema/input_guard.py);
- stream result: each subscription result coded on its way out (it leaves before the operation ends).

Queries and mutations over HTTP (`TesseraSchema.execute`) apply them as plain calls, around graphql-core's
execution, without strawberry's extension runner: entering and leaving its context managers (five per request,
each built from a generator) and the hooks it looks up cost about a tenth of a `recordPurchase` request's CPU.
It keeps strawberry's order and outcomes: the same checks, the same errors raised to the view (no query, an
operation it cannot find, one the method does not allow), the same pre-execution results, every error logged
by `process_errors` once. Subscriptions (graphql-transport-ws) go through strawberry's `subscribe`, with the
`RequestRules` extension below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, execute, parse
from strawberry import Schema
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES, validate_document
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from game.errors import DomainError
from schema import plans
from schema.errors import code_result, hide_suggestions, is_client_error
from schema.input_guard import guard

CACHED_DOCUMENTS = 1024

_parse = lru_cache(maxsize=CACHED_DOCUMENTS)(parse)

K = TypeVar("K")
V = TypeVar("V")


class _PerDocument(Generic[K, V]):
    """What is worked out from a parsed document (and a key), remembered by the document's identity, not its
    value: the parser cache above hands out the same object for the same text, and graphql-core hashes a
    document by walking all of it (4 us for a one-field mutation, on every request, as an lru_cache key).
    Entries hold their document, so that its id is not reused while cached. A computation that raises is
    not remembered."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, K], tuple[DocumentNode, V]] = {}

    def get(self, document: DocumentNode, key: K, compute: Callable[[], V]) -> V:
        entry = self._entries.get((id(document), key))
        if entry is not None and entry[0] is document:
            return entry[1]
        value = compute()
        if len(self._entries) >= CACHED_DOCUMENTS:
            self._entries.clear()
        self._entries[(id(document), key)] = (document, value)
        return value


_Rules = tuple[type[ASTValidationRule], ...]
# Validation errors, by schema (compared by identity) and rules.
_validated: _PerDocument[tuple[GraphQLSchema, _Rules], list[GraphQLError]] = _PerDocument()
# The operation a request runs, by the name it asks for: its name (the first operation's when none is asked
# for) and its type, as strawberry's ExecutionContext works them out.
_operations: _PerDocument[str | None, tuple[str | None, OperationType]] = _PerDocument()


def _validate(schema: GraphQLSchema, document: DocumentNode, rules: _Rules) -> list[GraphQLError]:
    return _validated.get(document, (schema, rules), lambda: validate_document(schema, document, rules))


def _operation(
    context: ExecutionContext, document: DocumentNode, provided_name: str | None
) -> tuple[str | None, OperationType]:
    def find() -> tuple[str | None, OperationType]:
        try:
            return context.operation_name, context.operation_type
        except RuntimeError as e:  # no operation of that name, or none at all
            raise CannotGetOperationTypeError(context.operation_name) from e

    return _operations.get(document, provided_name, find)


@dataclass(frozen=True, slots=True)
class Limits:
    max_tokens: int
    # Rule classes made once: the validation cache keys on them.
    rules: tuple[type[ASTValidationRule], ...]
    hide_suggestions: bool


class RequestRules(SchemaExtension):
    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.limits.max_tokens
        context.validation_rules = context.validation_rules + self.limits.rules
        yield
        if self.limits.hide_suggestions:
            hide_suggestions(context.result)
        code_result(context.result)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = _parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None  # strawberry validates parsed documents only
        context.pre_execution_errors = _validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield

    def on_execute(self) -> Iterator[None]:
        guard(self.execution_context)
        yield

    def on_stream_result(self, result: object) -> Iterator[None]:
        code_result(result)
        yield


class TesseraSchema(Schema):
    # Set by build_schema (schema/__init__.py) before the first request.
    limits: Limits

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected outcomes (bad input, conflicts, permissions) are answers, not incidents worth a traceback.
        # So are the client's own syntax, validation and coercion errors.
        unexpected = [
            e for e in errors if not isinstance(e.original_error, DomainError) and not is_client_error(e)
        ]
        super().process_errors(unexpected, execution_context)

    async def execute(  # strawberry's signature
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """A query or a mutation, with the rules above as plain calls (strawberry's own `execute` runs them
        through its extension runner)."""
        if allowed_operation_types is None:
            allowed_operation_types = DEFAULT_ALLOWED_OPERATION_TYPES
        context = self._create_execution_context(
            query=query,
            allowed_operation_types=allowed_operation_types,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
        )
        try:
            result = await self._run(context, operation_name)
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
            raise  # the view answers them with a 400
        except Exception as e:  # as strawberry does: an error of this request, answered as such
            result = PreExecutionError(data=None, errors=[e if isinstance(e, GraphQLError) else _wrapped(e)])
        if result.errors:
            context.pre_execution_errors = result.errors
            self._process_errors(result.errors, context)
            if self.limits.hide_suggestions:
                hide_suggestions(result)
            code_result(result)
        context.result = result
        return result

    async def _run(self, context: ExecutionContext, provided_name: str | None) -> ExecutionResult:
        limits = self.limits
        if not context.query:
            raise MissingQueryError
        try:
            document = context.graphql_document = _parse(context.query, max_tokens=limits.max_tokens)
        except GraphQLError as e:
            return PreExecutionError(data=None, errors=[e])
        operation_name, operation_type = _operation(context, document, provided_name)
        if operation_type not in context.allowed_operations:
            raise InvalidOperationTypeError(operation_type)
        context.validation_rules = context.validation_rules + limits.rules
        errors = _validate(self._schema, document, context.validation_rules)
        if errors:
            return PreExecutionError(data=None, errors=errors)
        guard(context, operation_type)
        refused = context.result
        if refused is not None:
            return ExecutionResult(data=refused.data, errors=refused.errors)
        plan = (
            self._plan(context, document, operation_name) if operation_type is OperationType.QUERY else None
        )
        if plan is not None:
            data = await plan.run(
                self._schema,
                context.variables,
                context.root_value,
                context.context,
                context.operation_extensions,
                optimized_is_awaitable,
            )
            if data is not None:
                return ExecutionResult(data=data, errors=None)
        done = await await_maybe(
            execute(
                self._schema,
                document,
                root_value=context.root_value,
                variable_values=context.variables,
                operation_name=operation_name,
                context_value=context.context,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # as strawberry passes it
                executor_class=self.execution_context_class,
                operation_extensions=context.operation_extensions,
            )
        )
        return ExecutionResult(data=done.data, errors=done.errors)

    def _plan(
        self, context: ExecutionContext, document: DocumentNode, operation_name: str | None
    ) -> plans.Plan | None:
        """A query's plan (schema/plans.py), or None: graphql-core answers it."""
        return plans.for_operation(
            self._schema,
            document,
            operation_name,
            lambda: self.execution_context_class.build(
                self._schema,
                document,
                root_value=context.root_value,
                context_value=context.context,
                raw_variable_values=context.variables,
                operation_name=operation_name,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                operation_extensions=context.operation_extensions,
            ),
        )


def _wrapped(error: Exception) -> GraphQLError:
    return GraphQLError(str(error), original_error=error)
