"""One place where failures become GraphQL errors with a stable `extensions.code` (and `reason`, `field`)."""

from __future__ import annotations

import re

from graphql import GraphQLError

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
        if original.reason:
            extensions["reason"] = original.reason.value
        if original.retry_after_s is not None:
            extensions["retryAfter"] = original.retry_after_s
    elif is_client_error(error):
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


def is_client_error(error: GraphQLError) -> bool:
    """Raised by graphql-core itself about the request: syntax, validation, limiters, and variables that do
    not coerce to their types (those keep the coercion failure as original_error)."""
    return error.original_error is None or error.message.startswith("Variable '$")


def _pre_execution_code(error: GraphQLError) -> str:
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if error.message.startswith("Variable '$"):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


def code_result(result: object) -> None:
    """Gives every error of a result its code (and field, reason) on its way out."""
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [coded(error) for error in errors]  # type: ignore[attr-defined]


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def hide_suggestions(result: object) -> None:
    """Production: validation errors do not suggest field, argument or type names ("Did you mean ...?"),
    which would map the schema for someone probing it with introspection off."""
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [  # type: ignore[attr-defined]
            GraphQLError(
                _SUGGESTION.sub("", e.message),
                nodes=e.nodes,
                source=e.source,
                positions=e.positions,
                path=e.path,
                original_error=e.original_error,
                extensions=e.extensions,
            )
            for e in errors
        ]
