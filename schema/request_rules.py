"""Every request's rules, in one schema extension.

strawberry builds each extension anew for every request and runs each hook as a context manager: eight small
extensions (limits, caches, error codes, the input guard) cost a quarter of a small request's GraphQL work.
One extension holds them, in the order they apply:

- operation: the parser's token limit and the validation rules (depth, aliases, and no introspection in
  production); on the way out, suggestions hidden (production), then every error coded (schema/errors.py);
- parse: each document text parsed once (an LRU of them);
- validate: each document validated once per set of rules (an LRU);
- execute: the input guard (schema/input_guard.py);
- stream result: each subscription result coded on its way out (it leaves before the operation ends).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import ASTValidationRule, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from schema.errors import code_result, hide_suggestions
from schema.input_guard import guard

CACHED_DOCUMENTS = 1024

_parse = lru_cache(maxsize=CACHED_DOCUMENTS)(parse)
# Keyed by the schema, the document (the parsed one above, the same object for the same text) and the rules.
_validate = lru_cache(maxsize=CACHED_DOCUMENTS)(validate_document)


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
