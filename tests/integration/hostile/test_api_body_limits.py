"""Bodies too large for the API are refused while they are read, never read whole first: a
64 MiB config body once took the daemon from 85 to 277 MB and answered 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette

from twelve.api.body import MAX_JSON_BYTES

APP = "limits"
PIECE = 1 << 20


@pytest.fixture(scope="module")
def api(make_api: Callable[..., Starlette]) -> Starlette:
    return make_api(APP)


def send_stream(
    api: Starlette, method: str, path: str, pieces: int, **headers: str
) -> tuple[int, dict, int]:
    """Send ``pieces`` MiB as a streamed body (no Content-Length); the status, the JSON error
    and how many pieces the API pulled before it answered."""
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(pieces):
            pulled += 1
            yield b"{" + b" " * (PIECE - 1)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=api)
        auth = {"Authorization": f"Bearer {api.state.platform.token}", **headers}
        async with httpx.AsyncClient(transport=transport, base_url="http://twelve") as client:
            return await client.request(method, path, content=body(), headers=auth)

    response = asyncio.run(go())
    return response.status_code, response.json(), pulled


def test_a_json_body_over_its_limit_is_refused_413_before_it_is_read_whole(api):
    status, error, pulled = send_stream(
        api, "PATCH", f"/apps/{APP}/config", 64, **{"Content-Type": "application/json"}
    )
    assert status == 413
    assert error["error"]["code"] == "too_large"
    assert "larger than 1 MiB" in error["error"]["message"]
    assert pulled <= MAX_JSON_BYTES // PIECE + 2


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read(api):
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=api)
        headers = {
            "Authorization": f"Bearer {api.state.platform.token}",
            "Content-Type": "application/json",
            "Content-Length": str(MAX_JSON_BYTES + 1),
        }
        async with httpx.AsyncClient(transport=transport, base_url="http://twelve") as client:
            return await client.request(
                "PATCH", f"/apps/{APP}/config", content=b"{}", headers=headers
            )

    response = asyncio.run(go())
    assert response.status_code == 413


def test_a_body_under_the_limit_is_still_read(api):
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=api)
        headers = {"Authorization": f"Bearer {api.state.platform.token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://twelve") as client:
            return await client.request(
                "PATCH",
                f"/apps/{APP}/config",
                json={"GREETING": "x" * 500_000},
                headers=headers,
            )

    assert asyncio.run(go()).status_code < 400
