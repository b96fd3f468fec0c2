"""Real public apps written for Heroku, pushed unchanged with git to a server set up as README says:
a root daemon, a reachable TWELVE_HOME, each app as its own user. Each must serve its page, and do
what it is for where that can be seen from outside (a release phase, a worker, a WebSocket).

Their checkouts come from scripts/prepare-real-apps (pinned commits, outside the repository); an
app whose checkout is absent is skipped with the reason. One daemon serves the whole module, so
the runtimes, the npm cache and the uv cache are filled once and every later build reuses them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import ROOT, Daemon, daemon_env, requires_service, wait_for

pytestmark = pytest.mark.slow
PINS: list[dict[str, Any]] = json.loads((ROOT / "tests" / "e2e" / "real_apps.json").read_text())[
    "apps"
]
CHECKOUTS = Path(os.environ.get("TWELVE_REAL_APPS_DIR", "/var/tmp/twelve-real-apps"))
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="per-app users need a root daemon and setpriv (util-linux)",
)


@pytest.fixture(scope="module")
def server(uv_cache: Path) -> Iterator[Daemon]:
    """One isolated-mode daemon for every app: TWELVE_HOME 0711 under a reachable parent."""
    base = Path(tempfile.mkdtemp(prefix="twelve-real-", dir="/tmp"))
    base.chmod(0o711)
    home = base / "home"
    home.mkdir()
    daemon = Daemon(home, daemon_env(home, uv_cache), base / "daemon.log")
    daemon.start()
    yield daemon
    daemon.end()
    shutil.rmtree(base, ignore_errors=True)


def git(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=1200, env=env,
        check=False,
    )  # fmt: skip


def router_request(d: Daemon, app: str, method: str, path: str) -> httpx.Response:
    port = d.router_url.rsplit(":", 1)[1]
    with httpx.Client(timeout=10) as client:
        return client.request(
            method, f"http://127.0.0.1:{port}{path}", headers={"Host": f"{app}.localhost"}
        )


def first_websocket_message(d: Daemon, app: str, timeout: float = 15) -> str:
    """Open a WebSocket through the router (RFC 6455 handshake) and read the first text frame."""
    port = int(d.router_url.rsplit(":", 1)[1])
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(
            (
                f"GET / HTTP/1.1\r\nHost: {app}.localhost\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            assert chunk, f"the router closed the upgrade: {data!r}"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head.decode(errors="replace")
        while len(data) < 2 or len(data) < 2 + (data[1] & 0x7F):
            chunk = sock.recv(4096)
            assert chunk, "the connection closed before the first message"
            data += chunk
    assert data[0] == 0x81, f"a final text frame, not {data[0]:#x}"
    return data[2 : 2 + (data[1] & 0x7F)].decode()


def check_jobs_are_worked(d: Daemon, app: str) -> None:
    """Jobs queued by the web process on the Redis add-on are taken and run by the worker.

    The app's job fails on purpose one time in twenty; a failed job was still run by the worker.
    """
    ids = []
    for _ in range(3):
        made = router_request(d, app, "POST", "/job")
        assert made.status_code == 200, made.text[:500]
        ids.append(made.json()["id"])

    def finished() -> list[dict[str, Any]] | None:
        states = [router_request(d, app, "GET", f"/job/{i}").json() for i in ids]
        done = all(s["state"] in {"completed", "failed"} for s in states)
        return states if done else None

    states = wait_for(finished, 90, "the worker to run the queued jobs", interval=0.5)
    for state in states:
        assert state["state"] == "completed" or state["reason"] == "This job failed!", state
    assert any(s["state"] == "completed" and s["progress"] == 100 for s in states), states


@needs_root
@pytest.mark.parametrize("pin", PINS, ids=[p["name"] for p in PINS])
def test_a_real_heroku_app_pushed_unchanged_serves_its_page(
    pin: dict[str, Any], server: Daemon, tmp_path: Path
) -> None:
    checkout = CHECKOUTS / pin["name"]
    if not (checkout / ".git").is_dir():
        pytest.skip(f"no checkout of {pin['repo']} in {checkout}: run scripts/prepare-real-apps")
    for tool in pin.get("tools", ()):
        # What the app's build or add-ons use from the machine (Heroku's stack has them all).
        requires_service(tool, shutil.which(tool) is not None)
    d, name = server, pin["name"]
    for runtime in pin.get("runtimes", ()):
        made = d.cli("runtimes:install", runtime, check=False, timeout=900)
        if made.returncode != 0 and "no source here can provide it" in made.stderr:
            # No interpreter on the machine and no reachable download: the machine lacks it.
            pytest.skip(f"{runtime} cannot be installed here: {made.stderr.strip()[-300:]}")
        assert made.returncode == 0, made.stderr
    repo = tmp_path / name
    assert git(tmp_path, "clone", "--quiet", str(checkout), str(repo)).returncode == 0
    assert git(repo, "rev-parse", "HEAD").stdout.strip() == pin["commit"], "the pinned commit"
    d.cli("apps:create", name)
    try:
        for addon in pin.get("addons", ()):
            d.cli("addons:create", addon, "-a", name)
        if pin.get("config"):
            # What the app's README asks to be set on Heroku before it serves.
            d.cli("config:set", "-a", name, *(f"{k}={v}" for k, v in pin["config"].items()))
        remote = subprocess.run(
            [*d.cli_argv(), "git:remote", "-a", name], cwd=repo, env=d.env,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert remote.returncode == 0, remote.stderr
        env = {**os.environ, **{k: v for k, v in d.env.items() if k.startswith("TWELVE_")}}
        env["GIT_TERMINAL_PROMPT"] = "0"
        started = time.monotonic()
        pushed = git(repo, "push", "twelve", "HEAD:refs/heads/main", env=env)
        print(f"{name}: pushed to serving in {time.monotonic() - started:.1f}s")
        assert pushed.returncode == 0, pushed.stderr[-4000:]
        assert "remote: -----> Released v" in pushed.stderr, pushed.stderr[-4000:]
        for text in pin.get("push_output", ()):
            assert text in pushed.stderr, f"{text!r} not in the push output"
        for kind, count in pin.get("scale", {}).items():
            d.cli("ps:scale", f"{kind}={count}", "-a", name)
        page = d.get(name, pin["path"], timeout=30)
        assert page.status_code == 200, page.text[:500]
        assert pin["expect"] in page.text
        if pin.get("websocket"):
            assert first_websocket_message(d, name).strip(), "the app's first message"
        if pin.get("jobs"):
            check_jobs_are_worked(d, name)
    finally:
        d.cli("apps:destroy", name, "--confirm", name, check=False)
