"""One check at the edge for every text and date a request carries, before any resolver runs.

Text: NUL, other control characters and unpaired surrogates cannot be stored (PostgreSQL refuses NUL in text
and JSON, UTF-8 cannot encode a lone surrogate) and have no business in names, keys or ids; they are refused
with BAD_USER_INPUT naming the variable or argument. Line breaks and tabs stay allowed for multi-line text.
Dates: years 1970 to 9999 whose UTC conversion exists, so no later arithmetic overflows.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import dateutil.parser  # type: ignore[import-untyped]
from graphql import ArgumentNode, ExecutionResult, GraphQLError, ObjectFieldNode, StringValueNode, visit
from graphql.language import BREAK, Node, Visitor
from starlette.websockets import WebSocket
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.schema.types.base_scalars import wrap_parser
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType
from strawberry.types.scalar import ScalarDefinition

from game.errors import DomainError, bad_input

# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; surrogates.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

MIN_YEAR, MAX_YEAR = 1970, 9999


def _refusal(text: str, where: str, field: str) -> DomainError | None:
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    char = found.group()
    what = "an unpaired surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return bad_input(f"{where} contains {what} (U+{ord(char):04X})", field)


def _in_value(value: object, where: str, field: str) -> DomainError | None:
    if isinstance(value, str):
        return _refusal(value, where, field)
    if isinstance(value, dict):
        for key, item in value.items():
            # Keys of JSON arguments are text too; the innermost named field is the one to fix.
            problem = _refusal(str(key), where, field) or _in_value(item, f"{where}.{key}", str(key))
            if problem:
                return problem
    if isinstance(value, list):
        for index, item in enumerate(value):
            if problem := _in_value(item, f"{where}[{index}]", field):
                return problem
    return None


def _in_variables(variables: dict[str, Any]) -> DomainError | None:
    for name, value in variables.items():
        if problem := _refusal(name, f"${name}", name) or _in_value(value, f"${name}", name):
            return problem
    return None


class _Literals(Visitor):
    """String literals written into the document itself, named after their argument or input field."""

    def __init__(self) -> None:
        super().__init__()
        self.problem: DomainError | None = None

    def enter_string_value(
        self, node: StringValueNode, _key: Any, parent: Any, _path: Any, ancestors: Any
    ) -> Any:
        names = [a.name.value for a in [*ancestors, parent] if isinstance(a, ArgumentNode | ObjectFieldNode)]
        field = names[-1] if names else "query"
        self.problem = _refusal(node.value, ".".join(names) or field, field)
        return BREAK if self.problem else None


# Documents come from strawberry's parser cache, the same object for the same text: one found clean is
# remembered (and held, so that its id is not reused) instead of walked on every request.
_clean: dict[int, Node] = {}
_MAX_CLEAN = 1024


def _in_document(document: Node) -> DomainError | None:
    if _clean.get(id(document)) is document:
        return None
    literals = _Literals()
    visit(document, literals)
    if literals.problem is None:
        if len(_clean) >= _MAX_CLEAN:
            _clean.clear()
        _clean[id(document)] = document
    return literals.problem


def guard(context: ExecutionContext, operation_type: OperationType | None = None) -> None:
    """At execution, before any resolver: a refusal becomes the result, which skips execution (the error
    gets its code and field from schema/errors.py). `operation_type`: the context's, when already known."""
    if (operation_type or context.operation_type) is OperationType.SUBSCRIPTION and not isinstance(
        getattr(context.context, "request", None), WebSocket
    ):
        # strawberry would run it as a query and fail on the stream it returns.
        raise InvalidOperationTypeError(OperationType.SUBSCRIPTION)
    problem = _in_variables(context.variables or {})
    if problem is None and context.graphql_document is not None:
        problem = _in_document(context.graphql_document)
    if problem is not None:
        context.result = ExecutionResult(None, [GraphQLError(problem.message, original_error=problem)])


def _bounded_datetime(text: str) -> datetime:
    value: datetime = dateutil.parser.isoparse(text)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"years {MIN_YEAR} to {MAX_YEAR} only")
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"years {MIN_YEAR} to {MAX_YEAR} only, in UTC too") from None
    return value


# strawberry's DateTime, same name and description, with the range above.
BOUNDED_DATETIME = ScalarDefinition(
    name="DateTime",
    description="Date with time (isoformat)",
    specified_by_url=None,
    serialize=datetime.isoformat,
    parse_value=wrap_parser(_bounded_datetime, "DateTime", exceptions=(ValueError, OverflowError)),
    parse_literal=None,
    origin=datetime,
)
