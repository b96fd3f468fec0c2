"""Real public apps written for Heroku, pushed unchanged with git to a server set up as README says:
a root daemon, a reachable TWELVE_HOME, each app as its own user. Each must serve its page.

Their checkouts come from scripts/prepare-real-apps (pinned commits, outside the repository); an
app whose checkout is absent is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support import ROOT, Daemon

pytestmark = pytest.mark.slow
PINS: list[dict[str, Any]] = json.loads((ROOT / "tests" / "e2e" / "real_apps.json").read_text())[
    "apps"
]
CHECKOUTS = Path(os.environ.get("TWELVE_REAL_APPS_DIR", "/var/tmp/twelve-real-apps"))
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="per-app users need a root daemon and setpriv (util-linux)",
)


@pytest.fixture
def open_home() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="twelve-real-", dir="/tmp"))
    base.chmod(0o711)
    yield base / "home"
    shutil.rmtree(base, ignore_errors=True)


def git(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=1200, env=env,
        check=False,
    )  # fmt: skip


@needs_root
@pytest.mark.parametrize("pin", PINS, ids=[p["name"] for p in PINS])
def test_a_real_heroku_app_pushed_unchanged_serves_its_page(
    pin: dict[str, Any], open_home: Path, make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    checkout = CHECKOUTS / pin["name"]
    if not (checkout / ".git").is_dir():
        pytest.skip(f"no checkout of {pin['repo']} in {checkout}: run scripts/prepare-real-apps")
    name = pin["name"]
    repo = tmp_path / name
    assert git(tmp_path, "clone", "--quiet", str(checkout), str(repo)).returncode == 0
    assert git(repo, "rev-parse", "HEAD").stdout.strip() == pin["commit"], "the pinned commit"
    d = make_daemon(home=open_home)
    try:
        d.cli("apps:create", name)
        remote = subprocess.run(
            [*d.cli_argv(), "git:remote", "-a", name], cwd=repo, env=d.env,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert remote.returncode == 0, remote.stderr
        env = {**os.environ, **{k: v for k, v in d.env.items() if k.startswith("TWELVE_")}}
        env["GIT_TERMINAL_PROMPT"] = "0"
        pushed = git(repo, "push", "twelve", "HEAD:refs/heads/main", env=env)
        assert pushed.returncode == 0, pushed.stderr[-4000:]
        assert "remote: -----> Released v1" in pushed.stderr
        page = d.get(name, pin["path"], timeout=30)
        assert page.status_code == 200, page.text[:500]
        assert pin["expect"] in page.text
    finally:
        d.cli("apps:destroy", name, "--confirm", name, check=False)
