"""The API answers malformed requests with a 4xx and a JSON error, never a 5xx: fuzzed from its
OpenAPI document with schemathesis, in process, on a real store and the real deployer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from starlette.routing import Route

from twelve.api.app import create_app
from twelve.api.context import Platform
from twelve.api.openapi import OPERATIONS, document
from twelve.deploy import Deployer
from twelve.logs.hub import LogHub
from twelve.settings import Settings
from twelve.store import Store
from twelve.supervisor.manager import Supervisor
from twelve.supervisor.policy import Backoff
from twelve.supervisor.process import Timing

TOKEN = "fuzz-token"
# Not fuzzed: add-ons provision real databases, and git runs git http-backend; both are covered
# by their own end-to-end tests.
SKIPPED = ("/addons", "/apps/{app}/addons", "/apps/{app}/addon-attachments", "/git/")


def platform_for(home: Path) -> Platform:
    settings = Settings.from_environ({"TWELVE_HOME": str(home)})
    store = Store(home / "twelve.db")
    hub = LogHub(home / "logs", 1 << 20, 2)
    timing = Timing(boot_timeout=5, stop_timeout=1, drain_pause=0, backoff=Backoff())

    def quiet(*_args: Any) -> None:
        return None

    supervisor = Supervisor(store, home / "scratch", timing, quiet, quiet, lambda: None)
    deployer = Deployer(settings, store, supervisor, quiet, quiet)
    store.create_app("hello")
    return Platform(settings, store, deployer, supervisor, hub, TOKEN)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("fuzz-home")
    app = create_app(platform_for(home))
    yield app


def test_every_route_is_in_the_document(tmp_path: Path) -> None:
    app = create_app(platform_for(tmp_path))
    documented = {(m, p) for m, p, *_ in OPERATIONS}
    for route in app.routes:
        assert isinstance(route, Route)
        path = route.path.replace("{rest:path}", "{rest}")
        for method in route.methods or ():
            if method != "HEAD":
                assert (method.lower(), path) in documented, (method, path)
    assert document()["paths"]["/apps/{app}/config"]["patch"]["requestBody"]


schema = schemathesis.openapi.from_dict(document())


@(
    schema.include(path_regex=r"^/(apps|openapi|$)")
    .exclude(path_regex="|".join(p.replace("{", r"\{").replace("}", r"\}") for p in SKIPPED))
    .parametrize()
)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: Any, api: Any) -> None:
    if case.path_parameters and "app" in case.path_parameters and case.method == "DELETE":
        case.path_parameters["app"] = "not-this-app"  # keep the fixture app for the other cases
    response = case.call(app=api, headers={"Authorization": f"Bearer {TOKEN}"})
    case.validate_response(response, checks=(not_a_server_error,))
    if 400 <= response.status_code < 500:
        assert response.json()["error"]["message"]
