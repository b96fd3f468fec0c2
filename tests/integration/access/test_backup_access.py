"""Backups hold all of an add-on's data: who may list, download and restore them."""

from __future__ import annotations

from access_support import ADMIN_TOKEN, APP, Api, call


def test_restoring_another_apps_backup_needs_its_admin_role(fresh_api: Api) -> None:
    call(fresh_api, "POST", "/apps", ADMIN_TOKEN, json={"name": "ac-other"})
    owner = fresh_api.token("owner")  # admin of APP, nothing on ac-other
    refused = call(
        fresh_api,
        "POST",
        f"/apps/{APP}/backups/ac-other::b001/restore",
        owner,
        json={"confirm": APP},
    )
    assert refused.status_code == 403, refused.text
    assert "ac-other" in refused.json()["error"]["message"]
    allowed = call(
        fresh_api,
        "POST",
        f"/apps/{APP}/backups/ac-other::b001/restore",
        ADMIN_TOKEN,
        json={"confirm": APP},
    )
    assert allowed.status_code == 404, "a platform admin reads any app's backups; none exists"


def test_a_viewer_lists_backups_but_downloads_none(fresh_api: Api) -> None:
    viewer = fresh_api.token("viewer")
    listed = call(fresh_api, "GET", f"/apps/{APP}/backups", viewer)
    assert listed.status_code == 200 and listed.json() == {"backups": [], "schedules": []}
    download = call(fresh_api, "GET", f"/apps/{APP}/backups/b001/download", viewer)
    assert download.status_code == 403
