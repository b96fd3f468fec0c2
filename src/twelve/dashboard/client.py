"""The dashboard's way to the platform: the API over HTTP, with the session's token, as the CLI
goes. Nothing here reads the store."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from typing import Any

import httpx

TIMEOUT = 30.0


class ApiError(Exception):
    """The API refused a call: its status and one-line message (with its hint)."""

    def __init__(self, status: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


def _error(response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(response.status_code, str(error["message"]), error.get("hint"))
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, f"the API answered {response.status_code}")


class Api:
    """Calls on behalf of one session."""

    def __init__(self, base_url: Callable[[], str], token: str) -> None:
        self._base_url = base_url
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": "twelve-dashboard"}

    def _client(self, timeout: float | None = TIMEOUT) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self._base_url(), headers=self._headers, timeout=timeout, trust_env=False
        )

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self._client() as client:
            try:
                response = await client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise ApiError(503, f"the API cannot be reached ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise _error(response)
        return response.json()

    async def lines(self, path: str, params: dict[str, str]) -> AsyncGenerator[dict[str, Any]]:
        """An NDJSON stream (the log), one object per line, until the API or the caller ends it."""
        async with (
            self._client(timeout=None) as client,
            client.stream("GET", path, params=params) as response,
        ):
            if response.status_code >= 400:
                await response.aread()
                raise _error(response)
            async for line in response.aiter_lines():
                if line.strip():
                    yield json.loads(line)
