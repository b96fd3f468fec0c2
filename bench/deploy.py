"""Redeploy time of an app whose dependencies did not change, against the floor measured in the same run.

    .venv/bin/python bench/deploy.py [--app tests/fixtures/apps/flask-gunicorn] [--runs 5]
        [--push] [--isolated] [--fresh] [--config KEY=VALUE ...]

The floor is what no platform can avoid: a dependency sync from the warm cache into a fresh
virtualenv (``uv venv`` + ``uv pip install -r requirements.txt``) plus the time the app takes to
bind its port. The redeploy is ``twelve deploy`` end to end, from the CLI's upload to the release
being live behind the router; with ``--push`` it is ``git push`` of a new commit instead. Prints the
medians and the ratio redeploy/floor. ``--config`` sets the app's config first (the Django fixture
needs DATABASE_URL) and is given to the floor's process too. ``--isolated`` (as root) runs the
daemon as on a server: TWELVE_HOME reachable by others, the app as its own user ``tw-bench``,
its interpreter a runtime. ``--app`` may be a real app's checkout (scripts/prepare-real-apps).
``--fresh`` (with ``--push``) changes requirements.txt (a comment) in each new commit, so every
redeploy builds its virtualenv anew instead of reusing the one an earlier build made.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import Daemon, daemon_env  # noqa: E402
from twelve.settings import uv_binary  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_bound(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"port {port} never bound")


def floor_once(app: Path, cache: Path, work: Path, command: str, config: dict[str, str]) -> float:
    """uv venv + install from the warm cache + start the web command until it binds."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(work),
        "UV_CACHE_DIR": str(cache),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NATIVE_TLS": "1",
    }
    for key in ("SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY"):
        if key in os.environ:
            env[key] = os.environ[key]
    venv = work / "venv"
    uv = uv_binary()
    started = time.monotonic()
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env=env, check=True
    )
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "-r",
            "requirements.txt",
        ],
        cwd=app,
        env=env,
        check=True,
    )
    port = free_port()
    run_env = dict(env, PATH=f"{venv}/bin:{env['PATH']}", PORT=str(port), **config)
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=app,
        env=run_env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_bound(port, time.monotonic() + 60)
        return time.monotonic() - started
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        subprocess.run(["rm", "-rf", str(venv)], check=True)


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def make_repo(app: Path, repo: Path, daemon: Daemon) -> tuple[Path, dict[str, str]]:
    """A git repository of the app with the ``twelve`` remote, and the environment to push with."""
    shutil.copytree(app, repo)
    for args in (
        ("init", "-q", "-b", "main"),
        ("config", "user.email", "b@x"),
        ("config", "user.name", "b"),
        ("add", "-A"),
        ("commit", "-q", "--allow-empty", "-m", "first"),
        ("checkout", "-q", "-B", "main"),  # a real app's checkout is at a detached commit
    ):
        git(repo, *args)
    subprocess.run(
        [*daemon.cli_argv(), "git:remote", "-a", "bench"],
        cwd=repo,
        env=daemon.env,
        check=True,
        capture_output=True,
    )
    return repo, {**os.environ, **{k: v for k, v in daemon.env.items() if k.startswith("TWELVE_")}}


def push(repo: Path, env: dict[str, str], fresh: bool = False) -> None:
    """A new commit pushed to the app: build, release phase, rollout. Nothing else changed, or
    (``fresh``) requirements.txt gained a comment, which makes the build install afresh."""
    if fresh:
        requirements = repo / "requirements.txt"
        requirements.write_text(requirements.read_text() + f"# redeploy {time.time_ns()}\n")
        git(repo, "commit", "-q", "-a", "-m", "redeploy, dependency files changed")
    else:
        git(repo, "commit", "-q", "--allow-empty", "-m", "redeploy")
    git(repo, "push", "-q", "twelve", "main", env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", default=str(ROOT / "tests/fixtures/apps/flask-gunicorn"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--push", action="store_true", help="redeploy with git push")
    parser.add_argument("--config", action="append", default=[], help="KEY=VALUE app config")
    parser.add_argument("--timeline", action="store_true", help="print the last deploy's log lines")
    parser.add_argument("--isolated", action="store_true", help="root daemon, per-app user")
    parser.add_argument("--fresh", action="store_true", help="each push changes requirements.txt")
    args = parser.parse_args()
    config = dict(pair.split("=", 1) for pair in args.config)
    app = Path(args.app).resolve()
    web = next(
        line.split(":", 1)[1].strip()
        for line in (app / "Procfile").read_text().splitlines()
        if line.startswith("web:")
    )
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        cache = base / "uv-cache"
        if args.isolated:
            base.chmod(0o711)  # reachable by the app's user: the daemon runs it as tw-bench
        home = base / "home"
        home.mkdir()
        daemon = Daemon(home, daemon_env(home, cache, TWELVE_STOP_TIMEOUT="5"), base / "daemon.log")
        daemon.start()
        try:
            daemon.cli("apps:create", "bench")
            if config:
                daemon.cli("config:set", "-a", "bench", *args.config)
            if args.push:
                repo, env = make_repo(app, base / "repo", daemon)

                def redeploy() -> None:
                    push(repo, env, args.fresh)
            else:

                def redeploy() -> None:
                    daemon.cli("deploy", "-a", "bench", str(app))

            redeploy()  # the first deploy warms the cache
            floor_config = {**config, **daemon.cli_json("config", "-a", "bench", "--reveal")}  # type: ignore[dict-item]
            floors, deploys = [], []
            for _ in range(args.runs):
                floors.append(floor_once(app, cache, base, web, floor_config))
                started = time.monotonic()
                redeploy()
                deploys.append(time.monotonic() - started)
            assert daemon.get("bench").status_code == 200
            if args.timeline:
                print(daemon.cli("logs", "-a", "bench", "-n", "60", "--source", "twelve").stdout)
        finally:
            daemon.stop()
            daemon.end_recorded_processes()
            daemon.unmount_scratch()
            if args.isolated:
                subprocess.run(["userdel", "tw-bench"], capture_output=True, check=False)
    floor, deploy = statistics.median(floors), statistics.median(deploys)
    print(
        json.dumps(
            {
                "app": app.name,
                "isolated": args.isolated,
                "push": args.push,
                "fresh": args.fresh,
                "runs": args.runs,
                "floor_median_s": round(floor, 3),
                "redeploy_median_s": round(deploy, 3),
                "ratio_redeploy_over_floor": round(deploy / floor, 2),
                "floors_s": [round(x, 3) for x in floors],
                "redeploys_s": [round(x, 3) for x in deploys],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
