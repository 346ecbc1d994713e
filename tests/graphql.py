"""Talking to the API as a mobile app or a till would: GraphQL over HTTP."""

from __future__ import annotations

from typing import Any

import httpx


class GraphQL:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def raw(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        api_key: str | None = None,
    ) -> httpx.Response:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if api_key:
            headers["X-API-Key"] = api_key
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, **auth: str | None) -> Any:
        """The data of a request that must succeed; fails the test on any error."""
        response = await self.raw(query, variables, **auth)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, **auth: str | None
    ) -> dict[str, Any]:
        """The single error of a request that must fail."""
        response = await self.raw(query, variables, **auth)
        body = response.json()
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body["errors"]
        return dict(body["errors"][0])

    async def code(self, query: str, variables: dict[str, Any] | None = None, **auth: str | None) -> str:
        error = await self.error(query, variables, **auth)
        return str(error.get("extensions", {}).get("code"))

    async def reason(
        self, query: str, variables: dict[str, Any] | None = None, **auth: str | None
    ) -> tuple[str, str | None]:
        """`extensions.code` and `extensions.reason` (None when absent) of a request that must fail."""
        extensions = (await self.error(query, variables, **auth)).get("extensions", {})
        return str(extensions.get("code")), extensions.get("reason")
