"""Layers point one way: app/ (the process shell) on top, then schema/ and workers/, then game/.

Read from the source with `ast`, so an import inside a function or under TYPE_CHECKING counts as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "schema": {"app"},
    "workers": {"app"},
    "game": {"app", "schema", "workers", "strawberry", "starlette", "graphql"},
}


def imported_packages(source: str) -> set[str]:
    """The top-level packages a module imports (relative imports stay inside their own package)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def violations(layer: str, root: Path = ROOT) -> list[str]:
    forbidden = FORBIDDEN[layer]
    found = []
    for path in sorted((root / layer).rglob("*.py")):
        for package in sorted(imported_packages(path.read_text()) & forbidden):
            found.append(f"{path.relative_to(root)} imports {package}")
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_above_it(layer: str) -> None:
    assert (ROOT / layer / "__init__.py").exists()
    assert violations(layer) == []


@pytest.mark.parametrize(
    "source",
    [
        "from app.settings import Settings",
        "import app.auth",
        "import json, app",
        "def f():\n    from app import cli",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.settings import Settings",
    ],
)
def test_an_import_of_app_is_found(tmp_path: Path, source: str) -> None:
    (tmp_path / "schema" / "customers").mkdir(parents=True)
    (tmp_path / "schema" / "customers" / "mutations.py").write_text(source)
    assert violations("schema", tmp_path) == ["schema/customers/mutations.py imports app"]


def test_game_may_not_import_the_graphql_layer(tmp_path: Path) -> None:
    (tmp_path / "game").mkdir()
    (tmp_path / "game" / "service.py").write_text(
        "import strawberry\nfrom starlette.requests import Request\nfrom schema.context import Info\n"
        "from workers import tasks\nfrom game.errors import DomainError\nfrom . import models\n"
    )
    assert violations("game", tmp_path) == [
        "game/service.py imports schema",
        "game/service.py imports starlette",
        "game/service.py imports strawberry",
        "game/service.py imports workers",
    ]
