"""A real daemon refuses deploy inputs and names that try to reach outside their app, says why in
one line, and keeps serving the apps it runs."""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from support import EXAMPLES, Daemon

pytestmark = pytest.mark.slow
TOKEN = "hostile-input-e2e-token"


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def crafted(*members: tarfile.TarInfo) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.addfile(member("Procfile"), io.BytesIO(b""))
        for info in members:
            data = b"escaped" if info.isfile() else b""
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def api(d: Daemon) -> httpx.Client:
    return httpx.Client(
        base_url=d.api_url, timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}
    )


def test_crafted_tarballs_are_refused_through_the_api_and_write_nothing_outside(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon(TWELVE_API_TOKEN=TOKEN)
    d.cli("apps:create", "vault")
    absolute = f"/tmp/twelve-e2e-escape-{uuid.uuid4().hex}"
    attempts = {
        "dot-dot": crafted(member("../../../escaped-by-upload")),
        "absolute": crafted(member(absolute)),
        "symlink out, then through it": crafted(
            member("out", tarfile.SYMTYPE, str(tmp_path)), member("out/escaped-by-upload")
        ),
        "device": crafted(member("null", tarfile.CHRTYPE)),
    }
    before = set(tmp_path.rglob("*"))
    with api(d) as client:
        for name, body in attempts.items():
            response = client.post(
                "/apps/vault/deploys",
                content=body,
                headers={"Content-Type": "application/x-tar"},
            )
            events = [json.loads(line) for line in response.text.splitlines() if line]
            assert events[-1]["event"] == "error", (name, events)
            assert "refused" in events[-1]["message"] and "\n" not in events[-1]["message"], name
        assert client.get("/apps").status_code == 200, "the daemon still serves"
    assert not Path(absolute).exists()
    assert not [p for p in set(tmp_path.rglob("*")) - before if d.home not in p.parents]
    assert not list(tmp_path.rglob("escaped-by-upload")), "nothing was written, even inside"
    assert d.cli_json("releases", "-a", "vault") == []


def test_names_cannot_reach_another_apps_host_repository_or_files(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(TWELVE_API_TOKEN=TOKEN)
    d.cli("apps:create", "bank")
    d.cli("config:set", "-a", "bank", "GREETING=bank-only")
    d.cli("deploy", "-a", "bank", str(EXAMPLES / "hello-python"))
    d.cli("apps:create", "shop")

    for name in ("../bank", "bank.shop", "Bank", "bank\n"):
        refused = d.cli("apps:create", name, check=False)
        assert refused.returncode == 1 and "invalid app name" in refused.stderr, refused
        assert refused.stderr.count("\n") == 1, "one line"
    for hostname in ("bank.localhost", "BANK.localhost."):
        taken = d.cli("domains:add", "-a", "shop", hostname, check=False)
        assert taken.returncode == 1 and "platform's domain" in taken.stderr, taken
    for kind in ("../web", "web/../../bank"):
        scaled = d.cli("ps:scale", "-a", "shop", f"{kind}=1", check=False)
        assert scaled.returncode == 1, scaled

    with api(d) as client:
        climb = client.get("/git/shop.git/%2e%2e/bank.git/info/refs?service=git-upload-pack")
        assert climb.status_code == 404, climb.text
        pwned = Path(f"/tmp/twelve-e2e-pwned-{uuid.uuid4().hex}")
        for source in (
            {"git_url": f"--upload-pack=touch {pwned};git-upload-pack", "ref": str(d.home)},
            {"git_url": "https://example.com/a.git", "ref": f"--upload-pack=touch {pwned}"},
            {"git_url": str(d.home / "repos" / "bank.git")},
            {"git_url": f"file://{d.home / 'repos' / 'bank.git'}"},
        ):
            response = client.post("/apps/shop/deploys", json=source)
            assert response.status_code == 400, (source, response.text)
        assert not pwned.exists()

    assert d.get("bank").text.startswith("bank-only"), "bank is served as before"
    assert d.get("shop").status_code != 200, "shop has no release, and never bank's"
    assert d.get("bank.shop").status_code == 404
