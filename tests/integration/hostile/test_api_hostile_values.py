"""Values a schema-driven fuzzer rarely sends (numbers past 64 bits, NaN, lone surrogates, NUL,
deep nesting, options where a URL belongs) get a 4xx with a JSON error from every operation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from twelve.api.openapi import OPERATIONS

from .conftest import send_all

APP = "hello"
# Raw JSON text, spliced into bodies as they are: most of these cannot be written by json.dumps.
NASTY_JSON = (
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "-Infinity",
    "123456789012345678901234567890",
    "-9223372036854775809",
    '"\\ud800"',
    '"\\udfff tail"',
    '"a\\u0000b"',
    '"\u00b2"',
    '"\\u202eevil"',
    '"../../etc/passwd"',
    '"--upload-pack=touch /tmp/x"',
    '"file:///etc/passwd"',
    '"smtp://[::1"',
    '"http://h:99999"',
    '"a\\nb\\r\\nc"',
    '"' + "x" * 100_000 + '"',
    "[" * 5000 + "]" * 5000,
    '{"a":' * 3000 + "1" + "}" * 3000,
    "true",
    "null",
    "{}",
    "[]",
    '""',
    "0",
    "-1",
    "1e-320",
)
BODY_OPERATIONS = [
    (method, path, body)
    for method, path, _summary, body, _query in OPERATIONS
    if body is not None and not path.startswith("/git/") and path != "/apps/{app}/addons"
]


def raw_bodies(schema: dict[str, Any], nasty: str) -> list[bytes]:
    """Bodies with ``nasty`` in each field, as a key, and as the whole body."""
    fields = list(schema.get("properties", {})) or ["A", "web"]
    bodies = [nasty]
    for name in fields:
        others = [f'{json.dumps(f)}: "web"' for f in schema.get("required", []) if f != name]
        bodies.append("{" + ", ".join([f"{json.dumps(name)}: {nasty}", *others]) + "}")
    if nasty.startswith('"'):
        bodies.append("{" + nasty + ': "x"}')
    return [b.encode("utf-8", "surrogatepass") for b in bodies]


def assert_answered_cleanly(response: httpx.Response) -> None:
    request = f"{response.request.method} {response.request.url.path}"
    assert response.status_code < 500, (request, response.text[:300])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"], (request, response.text[:300])
    if response.headers.get("content-type", "").startswith("application/x-ndjson"):
        events = [json.loads(line) for line in response.text.splitlines() if line]
        assert all(e.get("code") != "internal" for e in events), (request, response.text[:300])


@pytest.fixture(scope="module")
def api(make_api: Callable[..., Starlette]) -> Starlette:
    return make_api(APP, "other")


@pytest.mark.parametrize(
    "operation", BODY_OPERATIONS, ids=[f"{m.upper()} {p}" for m, p, _ in BODY_OPERATIONS]
)
def test_hostile_values_in_any_body_get_a_4xx_with_a_json_error(
    api: Starlette, operation: tuple[str, str, dict[str, Any]]
) -> None:
    """Every hostile value in every field of the body, as a key, and as the whole body."""
    method, path, schema = operation
    target = path.replace("{app}", APP).replace("{name}", "x").replace("{hostname}", "a.example")
    requests = [
        (method.upper(), target, body) for nasty in NASTY_JSON for body in raw_bodies(schema, nasty)
    ]
    for response in asyncio.run(send_all(api, requests)):
        assert_answered_cleanly(response)


# Percent-escaped, as they arrive in a query string or a path segment.
NASTY_TEXT = ("%00", "%ff", "%ED%A0%80", "%C2%B2", "-1", "1e999", "9" * 40, "..%2F..", "x" * 5000)
QUERY_OPERATIONS = [
    (method, path, query)
    for method, path, _summary, _body, query in OPERATIONS
    if query and not path.startswith("/git/")
]


@pytest.mark.parametrize(
    "operation", QUERY_OPERATIONS, ids=[f"{m.upper()} {p}" for m, p, _ in QUERY_OPERATIONS]
)
def test_hostile_query_values_get_a_4xx_with_a_json_error(
    api: Starlette, operation: tuple[str, str, list[str]]
) -> None:
    method, path, query = operation
    target = path.replace("{app}", APP).replace("{name}", "x")
    requests = [
        (method.upper(), f"{target}?{name}={nasty}", b"")
        for name in query
        if name != "tail"  # following a stream never ends
        for nasty in NASTY_TEXT
    ]
    requests += [("GET", f"/apps/{nasty}/config", b"") for nasty in NASTY_TEXT]
    for response in asyncio.run(send_all(api, requests)):
        assert_answered_cleanly(response)


# Each of these was a 500 before the API refused it; the message says what was wrong.
FOUND = [
    ("POST", "/apps/hello/rollback", b'{"version": 1180591620717411303424}', "too large"),
    ("PATCH", "/apps/hello/limits", b'{"type": "web", "memory": 1e999}', "too large"),
    ("PATCH", "/apps/hello/limits", b'{"type": "web", "cpu": NaN}', "NaN"),
    ("PATCH", "/apps/hello/limits", b'{"type": "web", "cpu": 1e308}', "cpu must be"),
    ("PATCH", "/apps/hello/config", b'{"SECRET": "\\ud800"}', "not valid Unicode"),
    ("PATCH", "/apps/hello/config", b'{"SECRET": "a\\u0000b"}', "NUL"),
    ("POST", "/apps", b"[" * 100_000, "nested too deeply"),
    ("POST", "/apps/hello/addon-attachments", b'{"target": "smtp://[::1"}', "malformed"),
    ("POST", "/apps/hello/ps/restart", b'{"process": 5}', "process must be"),
    ("GET", "/apps/hello/logs?since=99999999999999999999d", b"", "too far back"),
    ("GET", "/apps/hello/export?release=%C2%B2", b"", "is not a release"),
    ("GET", "/apps/hello/export?release=99999999999999999999", b"", "is not a release"),
    (
        "POST",
        "/apps/hello/deploys",
        b'{"git_url": "--upload-pack=touch /tmp/x", "ref": "/tmp"}',
        "remote",
    ),
    (
        "POST",
        "/apps/hello/deploys",
        b'{"git_url": "https://example.com/a.git", "ref": "--upload-pack=x"}',
        "invalid git ref",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "said"), FOUND)
def test_values_that_once_crashed_the_api_are_refused_with_a_reason(
    api: Starlette, method: str, path: str, body: bytes, said: str
) -> None:
    (response,) = asyncio.run(send_all(api, [(method, path, body)]))
    assert response.status_code == 400, response.text
    assert said in response.json()["error"]["message"]
