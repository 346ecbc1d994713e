"""Board entries are shown as the domain hands them over (schema/leaderboards/types.py `entries`): that holds
only while the domain's entry has every field the schema's type shows, under the same name."""

from __future__ import annotations

from dataclasses import fields

from game.leaderboards.store import Shown
from schema.leaderboards.types import LeaderboardEntry


def test_the_domains_entry_has_every_field_the_schema_shows() -> None:
    definition = LeaderboardEntry.__strawberry_definition__  # type: ignore[attr-defined]
    shown = {field.python_name for field in definition.fields}
    assert shown == {"rank", "score", "display_name", "is_me"}  # the type this test was written for
    assert shown <= {field.name for field in fields(Shown)}
