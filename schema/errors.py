"""One place where failures become GraphQL errors with a stable `extensions.code`."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from game.errors import DomainError

INTERNAL = "INTERNAL_SERVER_ERROR"


def coded(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    extensions = dict(error.extensions or {})
    message = error.message
    if isinstance(original, DomainError):
        extensions["code"] = original.code.value
        if original.field:
            extensions["field"] = original.field
    elif original is None:
        # Raised by graphql-core itself: syntax, validation, variable coercion, limiters.
        extensions.setdefault("code", _pre_execution_code(error))
    elif "code" not in extensions:
        # A bug, not the client's fault: Schema.process_errors logged it whole; the client learns nothing.
        extensions["code"] = INTERNAL
        message = "Internal server error."
        original = None
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=original,
        extensions=extensions,
    )


def _pre_execution_code(error: GraphQLError) -> str:
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable '$") or "got invalid value" in error.message:
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [coded(error) for error in errors]


class TesseraSchema(Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected outcomes (bad input, conflicts, permissions) are answers, not incidents worth a traceback.
        # So are the client's own syntax and validation errors (no original error).
        unexpected = [e for e in errors if e.original_error and not isinstance(e.original_error, DomainError)]
        super().process_errors(unexpected, execution_context)
