"""Secrets stay where they belong: config values, add-on and drain credentials and the API token
appear in no log, output, error body or file but the encrypted store, which reveals none of them;
rotating the key re-encrypts the store."""

from __future__ import annotations

import shutil
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from support import EXAMPLES, Daemon, wait_for

pytestmark = pytest.mark.slow
VALUE = "config-value-that-must-stay-put-93c1"
ADDON_PASSWORD = "addon-password-that-must-stay-put-71b0"
DRAIN_TOKEN = "drain-token-that-must-stay-put-0c4d"
TOKEN = "api-token-that-must-stay-put-5e2f"
SECRETS = (VALUE, ADDON_PASSWORD, DRAIN_TOKEN, TOKEN)
# The files allowed to hold a secret: the encrypted store, the key that opens it, the token itself.
KEPT = {"twelve.db", "twelve.db-wal", "twelve.db-shm", "secret-key", "api-token"}


def leaks(text: str | bytes) -> list[str]:
    data = text.encode(errors="replace") if isinstance(text, str) else text
    return [s for s in SECRETS if s.encode() in data]


def test_secrets_reach_no_log_output_error_body_or_file_and_the_store_reveals_none(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon(TWELVE_API_TOKEN=TOKEN)
    printed = [
        d.cli("apps:create", "vault"),
        d.cli("config:set", "-a", "vault", f"API_KEY={VALUE}"),
        d.cli("addons:attach", "-a", "vault", f"smtp://mailer:{ADDON_PASSWORD}@127.0.0.1:1"),
        d.cli("drains:add", "-a", "vault", f"https://{DRAIN_TOKEN}@127.0.0.1:1/logs"),
        d.cli("deploy", "-a", "vault", str(EXAMPLES / "hello-python")),
        d.cli("config:set", "-a", "vault", f"OTHER={VALUE}-2"),
        d.cli("config:unset", "-a", "vault", "OTHER"),
        d.cli("config", "-a", "vault"),
        d.cli("addons", "-a", "vault"),
        d.cli("drains", "-a", "vault"),
        d.cli("releases", "-a", "vault", "--json"),
        d.cli("ps", "-a", "vault"),
    ]
    broken = tmp_path / "broken"
    shutil.copytree(EXAMPLES / "hello-python", broken)
    (broken / "requirements.txt").write_text("no-such-package-xyz-12==1\n")
    failed_deploy = d.cli("deploy", "-a", "vault", str(broken), check=False)
    assert failed_deploy.returncode == 1
    failed_set = d.cli("config:set", "-a", "vault", f"bad key={VALUE}", check=False)
    assert failed_set.returncode == 1
    printed += [failed_deploy, failed_set, d.cli("logs", "-a", "vault", "-n", "100000")]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=d.api_url) as client:
        errors = [
            client.get("/apps/vault/config"),  # no token
            client.get("/apps/vault/config", headers={"Authorization": f"Bearer {VALUE}"}),
            client.patch("/apps/vault/config", content=b"{not json", headers=auth),
            client.patch("/apps/vault/config", json={"bad key": VALUE}, headers=auth),
            client.patch("/apps/vault/config", json={"API_KEY": VALUE + "\x00"}, headers=auth),
            client.post("/apps/vault/drains", json={"url": f"ftp://{DRAIN_TOKEN}@h"}, headers=auth),
            client.post(
                "/apps/vault/addon-attachments",
                json={"target": f"smtp://u:{ADDON_PASSWORD}@[::1"},
                headers=auth,
            ),
        ]
    assert all(400 <= r.status_code < 500 for r in errors), [r.text for r in errors]
    assert d.cli("config:get", "-a", "vault", "API_KEY").stdout.strip() == VALUE
    assert f"{VALUE}-2" not in d.cli("config", "-a", "vault", "--reveal").stdout

    d.stop()  # the daemon's last words are part of its output
    assert leaks("".join(p.stdout + p.stderr for p in printed)) == []
    assert leaks("".join(r.text for r in errors)) == []
    assert leaks(d.log_path.read_bytes()) == []
    for path in d.home.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.name not in KEPT:
            assert leaks(path.read_bytes()) == [], path
    store = b"".join(p.read_bytes() for p in d.home.glob("twelve.db*"))
    assert leaks(store) == [], "the store file alone reveals no secret"


def stored_values(home: Path) -> list[str]:
    with sqlite3.connect(home / "twelve.db") as db:
        rows = db.execute("SELECT value FROM config UNION ALL SELECT config FROM releases")
        return [r[0] for r in rows.fetchall()]


def test_rotating_the_key_re_encrypts_the_store_and_a_wrong_key_stops_the_start(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    home = tmp_path / "rotating"
    d = make_daemon(home, TWELVE_API_TOKEN=TOKEN, TWELVE_SECRET_KEY="first key")
    d.cli("apps:create", "vault")
    d.cli("config:set", "-a", "vault", f"API_KEY={VALUE}")
    d.stop(signal.SIGTERM)
    before = stored_values(home)

    rotated = make_daemon(
        home,
        TWELVE_API_TOKEN=TOKEN,
        TWELVE_SECRET_KEY="second key",
        TWELVE_SECRET_KEY_PREVIOUS="first key",
    )
    assert "re-encrypted" in wait_for(rotated.output, 10, "the daemon's log")
    assert rotated.cli("config:get", "-a", "vault", "API_KEY").stdout.strip() == VALUE
    rotated.stop(signal.SIGTERM)
    after = stored_values(home)
    assert len(after) == len(before) and not set(after) & set(before)

    current = make_daemon(home, TWELVE_API_TOKEN=TOKEN, TWELVE_SECRET_KEY="second key")
    assert current.cli("config:get", "-a", "vault", "API_KEY").stdout.strip() == VALUE
    current.stop(signal.SIGTERM)
    assert stored_values(home) == after, "nothing to re-encrypt once rotated"

    with pytest.raises(AssertionError, match="exited early"):
        make_daemon(home, TWELVE_API_TOKEN=TOKEN, TWELVE_SECRET_KEY="first key")
    log = (tmp_path / "daemon3.log").read_text()
    assert "cannot be decrypted with TWELVE_SECRET_KEY" in log and "Traceback" not in log
    assert leaks(log) == []
