"""Production mode: no GraphiQL, no introspection, and no start without a real JWT secret."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError

from app.factory import create_app
from app.settings import Settings
from tests.servers import serving

INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest_asyncio.fixture
async def production(migrated: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second API server on the session's database and Redis, with TESSERA_ENV=production."""
    settings = migrated.model_copy(update={"env": "production"})
    async with serving(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def test_introspection_is_off_in_production(
    production: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    dev = (await client.post("/graphql", json={"query": INTROSPECTION})).json()
    prod = (await production.post("/graphql", json={"query": INTROSPECTION})).json()

    assert dev == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert prod["data"] is None
    assert prod["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_graphiql_is_off_in_production(
    production: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    html = {"Accept": "text/html"}

    assert (await client.get("/graphql", headers=html)).status_code == 200
    assert (await production.get("/graphql", headers=html)).status_code == 404


def test_production_refuses_to_start_without_a_jwt_secret(tmp_path: object) -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET must be set"):
        Settings(env="production", jwt_secret="", var_dir=tmp_path)


def test_a_short_jwt_secret_is_refused(tmp_path: object) -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(env="production", jwt_secret="too-short", var_dir=tmp_path)
