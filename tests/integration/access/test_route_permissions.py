"""Every route goes through the one role check: each is declared in the permission table, an
undeclared one is for platform admins only, and fuzzing every route of the OpenAPI document with
each role's token shows a forbidden route answers nothing but 403 (and an allowed one never does)."""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from access_support import APP, PEOPLE, Api, call
from twelve.access.roles import Need
from twelve.api.openapi import document
from twelve.api.permissions import RULES

OUTCOMES: Counter[str] = Counter()


def served(api: Api) -> set[tuple[str, str]]:
    found = set()
    for route in api.app.routes:
        if isinstance(route, WebSocketRoute):  # its handshake is a GET, and checked as one
            found.add(("get", route.path))
            continue
        assert isinstance(route, Route)
        path = route.path.replace(":path}", "}")
        found |= {(m.lower(), path) for m in route.methods or () if m != "HEAD"}
    return found


def test_every_served_route_declares_what_it_needs(access_api: Api) -> None:
    """A route added without a line in api/permissions.py fails here."""
    assert served(access_api) == set(RULES)


def test_the_table_says_what_the_role_table_of_the_docs_says() -> None:
    """viewer reads; deployer deploys, pushes, scales, restarts, runs; admin changes the rest."""
    expected = {
        Need.VIEWER: ["get /apps/{app}", "get /apps/{app}/releases", "get /apps/{app}/logs",
                      "get /apps/{app}/ps", "get /apps/{app}/config", "get /apps/{app}/access"],
        Need.DEPLOYER: ["post /apps/{app}/deploys", "post /git/{repo}/{rest}",
                        "patch /apps/{app}/formation", "post /apps/{app}/ps/restart",
                        "post /apps/{app}/run", "get /apps/{app}/run",
                        "post /apps/{app}/ps/stop", "post /apps/{app}/rollback"],
        Need.ADMIN: ["patch /apps/{app}/config", "post /apps/{app}/addons",
                     "post /apps/{app}/domains", "post /apps/{app}/certs",
                     "post /apps/{app}/access", "delete /apps/{app}", "get /apps/{app}/export"],
        Need.PLATFORM: ["post /apps", "post /users"],
    }  # fmt: skip
    for need, keys in expected.items():
        for key in keys:
            method, path = key.split(" ")
            assert RULES[method, path].need is need, key


def test_an_undeclared_route_is_for_platform_admins_only(fresh_api: Api) -> None:
    async def extra(_request: Request) -> JSONResponse:
        return JSONResponse({"reached": True})

    fresh_api.app.router.routes.append(Route("/apps/{app}/extra", extra, methods=["GET"]))
    owner = call(fresh_api, "GET", f"/apps/{APP}/extra", fresh_api.token("owner"))
    assert owner.status_code == 403
    assert "platform admin" in owner.json()["error"]["message"]
    admin = call(fresh_api, "GET", f"/apps/{APP}/extra", fresh_api.token("operator"))
    assert admin.json() == {"reached": True}


# Who may call a route of each need: (person, token scope). "admin" is the platform's own token.
EVERYONE = {*PEOPLE, "admin"}
MAY = {
    Need.PUBLIC: EVERYONE,
    Need.SIGNED_IN: EVERYONE,
    Need.ACCOUNT: EVERYONE,
    Need.VIEWER: {"viewer", "deployer", "owner", "operator", "admin"},
    Need.DEPLOYER: {"deployer", "owner", "operator", "admin"},
    Need.ADMIN: {"owner", "operator", "admin"},
    Need.PLATFORM_READ: {"operator", "admin"},
    Need.PLATFORM: {"operator", "admin"},
}
CALLERS = [*sorted(EVERYONE), "owner/read"]  # the app's admin with a read token acts as a viewer


def may_call(caller: str, need: Need, names_the_app: bool) -> bool:
    person, _, scope = caller.partition("/")
    platform_admin = person in ("operator", "admin")
    if need.app_role is not None and not names_the_app and not platform_admin:
        return False  # another app (or an add-on that does not exist): no role there
    if scope == "read":
        return need in (Need.PUBLIC, Need.SIGNED_IN, Need.VIEWER)
    return person in MAY[need]


def fuzzing_schema() -> dict[str, Any]:
    doc = copy.deepcopy(document())
    for operations in doc["paths"].values():
        for operation in operations.values():
            for param in operation["parameters"]:
                if param["name"] == "app":
                    param["schema"] = {"anyOf": [{"enum": [APP]}, {"type": "string"}]}
                if param["name"] == "repo":
                    param["schema"] = {"anyOf": [{"enum": [f"{APP}.git"]}, {"type": "string"}]}
    return doc


def template_matches(template: str, path: str) -> bool:
    """Whether a generated path reaches the route at all (else routing answers, not the route)."""
    pattern = re.sub(r"\{rest\}", ".+", template)
    pattern = re.sub(r"\{[a-z]+\}", "[^/]+", pattern)
    return re.fullmatch(pattern, unquote(path)) is not None


schemathesis.serializer.alias("application/x-tar", "application/octet-stream")
schema = schemathesis.openapi.from_dict(fuzzing_schema())


@pytest.fixture(scope="module")
def report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None and OUTCOMES:
        summary = ", ".join(f"{n} {k}" for k, n in sorted(OUTCOMES.items()))
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nrole fuzzing: {summary}")


def _runs_something(method: str, path: str) -> bool:
    """Allowed calls that would start real work are covered end to end instead (the add-on's
    database server, git http-backend), as in tests/integration/hostile/test_api_fuzz.py."""
    return path.startswith("/git/") or (method == "POST" and path == "/apps/{app}/addons")


@pytest.mark.parametrize("caller", CALLERS)
@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_forbidden_route_answers_only_403(
    case: Any, caller: str, access_api: Api, report: None
) -> None:
    method, template = case.operation.method.upper(), case.operation.path
    rule = RULES[method.lower(), template]
    access_api.restore()
    person, _, scope = caller.partition("/")
    params = case.path_parameters or {}
    names_the_app = params.get("app") == APP or params.get("repo") == f"{APP}.git"
    allowed = may_call(caller, rule.need, names_the_app)
    if allowed and _runs_something(method, template):
        return
    token = access_api.token(person, scope or "write")
    response = case.call(app=access_api.app, headers={"Authorization": f"Bearer {token}"})
    sent = response.request.headers.get("Authorization")
    if isinstance(sent, list):
        sent = sent[0] if sent else None
    if sent != f"Bearer {token}":
        return  # a negative case that left out or replaced the token: the guard answers 401
    if response.request.method != method:
        return  # an unsupported method: routing answers 405 for everyone
    if not template_matches(template, response.request.path_url.split("?")[0]):
        return
    OUTCOMES[
        f"{caller} {'allowed' if allowed else 'forbidden'} {response.status_code // 100}xx"
    ] += 1
    if allowed:
        assert response.status_code != 403, (caller, method, template, response.text[:300])
        assert response.status_code < 500, (caller, method, template, response.text[:300])
    else:
        assert response.status_code == 403, (caller, method, template, response.text[:300])
        if template.startswith("/git/"):  # git shows a text body to the pusher
            assert response.text.startswith("twelve: "), response.text[:300]
        else:
            assert response.json()["error"]["code"] == "forbidden"
