"""Secrets stay where they belong: a config value and the API token appear in no log, no output, no
error body and no file but the encrypted store."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from support import EXAMPLES, Daemon

pytestmark = pytest.mark.slow
VALUE = "config-value-that-must-stay-put-93c1"
TOKEN = "api-token-that-must-stay-put-5e2f"


def test_a_config_value_and_the_api_token_reach_no_log_output_error_or_file(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon(TWELVE_API_TOKEN=TOKEN)
    printed = []
    printed.append(d.cli("apps:create", "vault"))
    printed.append(d.cli("config:set", "-a", "vault", f"API_KEY={VALUE}"))
    printed.append(d.cli("deploy", "-a", "vault", str(EXAMPLES / "hello-python")))
    printed.append(d.cli("config:set", "-a", "vault", f"OTHER={VALUE}-2"))
    printed.append(d.cli("config:unset", "-a", "vault", "OTHER"))
    printed.append(d.cli("config", "-a", "vault"))
    printed.append(d.cli("releases", "-a", "vault", "--json"))
    broken = tmp_path / "broken"
    shutil.copytree(EXAMPLES / "hello-python", broken)
    (broken / "requirements.txt").write_text("no-such-package-xyz-12==1\n")
    printed.append(d.cli("deploy", "-a", "vault", str(broken), check=False))
    printed.append(d.cli("config:set", "-a", "vault", f"bad key={VALUE}", check=False))
    printed.append(d.cli("logs", "-a", "vault", "-n", "100000"))
    with httpx.Client(base_url=d.api_url) as client:
        bodies = [
            client.get("/apps/vault/config").text,  # no token: 401
            client.patch(
                "/apps/vault/config",
                content=b"{not json",
                headers={"Authorization": f"Bearer {TOKEN}"},
            ).text,
            client.patch(
                "/apps/vault/config",
                json={"bad key": VALUE},
                headers={"Authorization": f"Bearer {TOKEN}"},
            ).text,
        ]
    outputs = "".join(p.stdout + p.stderr for p in printed) + "".join(bodies) + d.output()
    assert VALUE not in outputs and TOKEN not in outputs
    kept = {"twelve.db", "twelve.db-wal", "twelve.db-shm", "secret-key", "api-token"}
    for path in d.home.rglob("*"):
        if path.is_file() and path.name not in kept:
            data = path.read_bytes()
            assert VALUE.encode() not in data and TOKEN.encode() not in data, path
    store = b"".join(p.read_bytes() for p in d.home.glob("twelve.db*"))
    assert VALUE.encode() not in store, "encrypted at rest"
    assert d.cli("config:get", "-a", "vault", "API_KEY").stdout.strip() == VALUE


def test_a_tarball_that_tries_to_escape_is_refused_through_the_api(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(TWELVE_API_TOKEN=TOKEN)
    d.cli("apps:create", "vault")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("../../escaped-by-upload.txt")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"bad"))
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-tar"}
    with httpx.Client(base_url=d.api_url, timeout=30) as client:
        response = client.post("/apps/vault/deploys", content=buffer.getvalue(), headers=headers)
    events = [json.loads(line) for line in response.text.splitlines() if line]
    assert events[-1]["event"] == "error" and "refused" in events[-1]["message"]
    assert not list(d.home.parent.rglob("escaped-by-upload.txt"))
    assert d.cli_json("releases", "-a", "vault") == []
