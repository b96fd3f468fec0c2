"""The API answers malformed requests with a 4xx and a JSON error, never a 5xx: fuzzed from its
OpenAPI document with schemathesis, in process, on a real store, deployer, supervisor and add-on
manager (nothing is started: the fuzzed app has no release)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from twelve.api.openapi import OPERATIONS, document
from twelve.errors import NotFound

APP = "hello"
OUTCOMES: Counter[str] = Counter()


@pytest.fixture(scope="module")
def api(make_api: Callable[..., Starlette], request: pytest.FixtureRequest) -> Iterator[Starlette]:
    yield make_api(APP)
    total = sum(OUTCOMES.values())
    summary = ", ".join(f"{n} {k}" for k, n in sorted(OUTCOMES.items()))
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None and total:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nAPI fuzzing: {total} requests ({summary})")


def test_every_route_is_in_the_document(api: Starlette) -> None:
    """A route missing from the document would never be fuzzed (nor known to clients)."""
    documented = {(m, p) for m, p, *_ in OPERATIONS}
    served = set()
    for route in api.routes:
        if isinstance(route, WebSocketRoute):
            continue  # an attached one-off's upgrade: no HTTP operation to fuzz
        assert isinstance(route, Route)
        path = route.path.replace(":path}", "}")
        served |= {(m.lower(), path) for m in route.methods or () if m != "HEAD"}
    assert served == documented
    paths = document()["paths"]
    assert paths["/apps/{app}/config"]["patch"]["requestBody"]
    assert "application/x-tar" in paths["/apps/{app}/deploys"]["post"]["requestBody"]["content"]


def fuzzing_schema() -> dict[str, Any]:
    """The document, with ``{app}`` often naming the app that exists so handlers go deep."""
    doc = copy.deepcopy(document())
    for operations in doc["paths"].values():
        for operation in operations.values():
            for param in operation["parameters"]:
                if param["name"] == "app":
                    param["schema"] = {"anyOf": [{"enum": [APP]}, {"type": "string"}]}
    return doc


def check_body(response: Any) -> None:
    """4xx bodies are twelve's JSON error; streamed operations never end in an internal error."""
    if 400 <= response.status_code < 500:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["message"], response.text
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/x-ndjson"):
        lines = [json.loads(line) for line in response.text.splitlines() if line]
        events = [e for e in lines if "event" in e]  # a log stream has lines, not events
        assert all(e.get("code") != "internal" for e in events), response.text


def ensure_app(api: Starlette) -> None:
    """Bring the fuzzed app back if a fuzzed DELETE destroyed it."""
    store = api.state.platform.store
    try:
        store.apps.get(APP)
    except NotFound:
        store.apps.create(APP)


# A deploy's tarball body is bytes on the wire, as any binary body is.
schemathesis.serializer.alias("application/x-tar", "application/octet-stream")
schema = schemathesis.openapi.from_dict(fuzzing_schema())


# Not fuzzed, each covered end to end elsewhere: creating an add-on provisions a real database
# server (tests/e2e/test_addons.py); git runs git http-backend (tests/e2e/test_heroku_apps.py).
@schema.exclude(method="POST", path="/apps/{app}/addons").exclude(path_regex="^/git/").parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: Any, api: Starlette) -> None:
    """Positive and negative cases of every operation: a 2xx or a 4xx with a JSON error."""
    ensure_app(api)
    response = case.call(app=api, headers={"Authorization": f"Bearer {api.state.platform.token}"})
    OUTCOMES[f"{response.status_code // 100}xx"] += 1
    case.validate_response(response, checks=(not_a_server_error,))
    check_body(response)
