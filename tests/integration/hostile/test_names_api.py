"""Names are checked where they enter the API, and no name lets one app reach another's paths,
hosts, repository, add-ons or drains."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from .conftest import send_all


async def _send(api: Starlette, requests: list[tuple[str, str, Any]]) -> list[httpx.Response]:
    encoded = [
        (m, p, None if body is None else json.dumps(body).encode()) for m, p, body in requests
    ]
    return await send_all(api, encoded)


def call(api: Starlette, method: str, path: str, body: Any = None) -> httpx.Response:
    (response,) = asyncio.run(_send(api, [(method, path, body)]))
    return response


@pytest.fixture
def api(make_api: Callable[..., Starlette]) -> Starlette:
    """Two apps on one platform: ``shop`` is the one trying to reach ``bank``."""
    return make_api("shop", "bank")


def home_of(api: Starlette) -> Path:
    path: Path = api.state.platform.settings.home
    return path


PATH_LIKE_NAMES = ["../bank", "bank/../x", "..", "shop.bank", "Bank", "bank\n", "-bank", "a" * 31]


@pytest.mark.parametrize("name", [*PATH_LIKE_NAMES, "", "bank-", "b--x", "%2e%2e"])
def test_app_names_that_are_not_one_dns_label_are_refused_and_make_nothing(
    api: Starlette, name: str
) -> None:
    before = sorted(home_of(api).rglob("*"))
    response = call(api, "POST", "/apps", {"name": name})
    assert response.status_code == 400, response.text
    assert "app name" in response.json()["error"]["message"]
    assert [a["name"] for a in call(api, "GET", "/apps").json()] == ["bank", "shop"]
    assert sorted(home_of(api).rglob("*")) == before


@pytest.mark.parametrize(
    "hostname",
    ["bank.localhost", "BANK.localhost.", "www.bank.localhost", "api.localhost"],
)
def test_an_app_cannot_take_a_host_under_the_platform_domain(api: Starlette, hostname: str) -> None:
    response = call(api, "POST", "/apps/shop/domains", {"hostname": hostname})
    assert response.status_code == 409, response.text
    assert "platform's domain" in response.json()["error"]["message"]
    assert call(api, "GET", "/apps/shop").json()["domains"] == []


def test_an_app_cannot_take_or_remove_another_apps_custom_domain(api: Starlette) -> None:
    assert call(api, "POST", "/apps/bank/domains", {"hostname": "bank.example"}).status_code == 201
    for spelling in ("bank.example", "BANK.Example.", " bank.example "):
        taken = call(api, "POST", "/apps/shop/domains", {"hostname": spelling})
        assert taken.status_code == 409, taken.text
    assert call(api, "DELETE", "/apps/shop/domains/bank.example").status_code == 404
    assert call(api, "GET", "/apps/bank").json()["domains"] == ["bank.example"]
    assert call(api, "GET", "/apps/shop").json()["domains"] == []


@pytest.mark.parametrize(
    "hostname", ["*.example.com", "example.com:80", "a/../b.example", "localhost", "a\n.example"]
)
def test_hostnames_that_are_not_hostnames_are_refused(api: Starlette, hostname: str) -> None:
    response = call(api, "POST", "/apps/shop/domains", {"hostname": hostname})
    assert response.status_code == 400, response.text
    assert "invalid domain" in response.json()["error"]["message"]


@pytest.mark.parametrize("kind", ["../web", "web/../../bank", "web.1", ".", "", "web\n"])
def test_process_types_that_could_name_paths_are_refused(api: Starlette, kind: str) -> None:
    scaled = call(api, "PATCH", "/apps/shop/formation", {kind: 1})
    limited = call(api, "PATCH", "/apps/shop/limits", {"type": kind, "memory": 64 << 20})
    for response in (scaled, limited):
        assert response.status_code == 400, response.text
    assert "process type" in limited.json()["error"]["message"]
    assert call(api, "GET", "/apps/shop/limits").json()["types"] == {}


def test_a_git_path_cannot_climb_into_another_apps_repository(api: Starlette) -> None:
    for path in (
        "/git/shop.git/%2e%2e/bank.git/info/refs?service=git-upload-pack",
        "/git/shop.git/objects/%2E%2E/%2E%2E/bank.git/HEAD",
    ):
        response = call(api, "GET", path)
        assert response.status_code == 404, (path, response.text)
    assert not (home_of(api) / "repos").exists(), "no repository was even created"


def test_add_ons_and_drains_of_another_app_are_out_of_reach(api: Starlette) -> None:
    attached = call(
        api, "POST", "/apps/bank/addon-attachments", {"target": "smtp://u:pw@mail.example"}
    )
    assert attached.status_code == 201, attached.text
    name = attached.json()["addon"]["name"]
    assert call(api, "DELETE", f"/apps/shop/addon-attachments/{name}").status_code == 409
    assert call(api, "POST", "/apps/shop/addon-attachments", {"target": name}).status_code == 409
    assert call(api, "DELETE", f"/addons/{name}?confirm=shop").status_code == 400
    assert call(api, "GET", f"/addons/{name}").json()["attached"] is True
    as_path = call(
        api, "POST", "/apps/shop/addon-attachments", {"target": "smtp://h", "as": "../X"}
    )
    assert as_path.status_code == 400, as_path.text

    drain = "syslog+tcp://logs.example:514"
    assert call(api, "POST", "/apps/bank/drains", {"url": drain}).status_code == 201
    assert call(api, "POST", "/apps/shop/drains/remove", {"url": drain}).status_code == 404
    assert [d["url"] for d in call(api, "GET", "/apps/bank/drains").json()] == [drain]


@pytest.mark.parametrize(
    ("git_url", "ref"),
    [
        ("--upload-pack=touch /tmp/twelve-pwned;git-upload-pack", "/tmp"),
        ("https://example.com/a.git", "--upload-pack=touch /tmp/twelve-pwned"),
        ("/srv/twelve/repos/bank.git", None),
        ("file:///srv/twelve/repos/bank.git", None),
        ("ext::sh -c touch% /tmp/twelve-pwned", None),
        ("https://example.com/a.git\n--upload-pack=x", None),
    ],
)
def test_a_git_deploy_reaches_remote_repositories_only(
    api: Starlette, git_url: str, ref: str | None
) -> None:
    response = call(api, "POST", "/apps/shop/deploys", {"git_url": git_url, "ref": ref})
    assert response.status_code == 400, response.text
    assert not Path("/tmp/twelve-pwned").exists()
    assert call(api, "GET", "/apps/shop/releases").json() == []
