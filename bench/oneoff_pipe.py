"""How fast ``twelve run`` carries bytes through a one-off, against a local pipe.

A daemon in a temporary home runs a generic app; ``twelve run -a APP -- cat`` gets N MiB on stdin
and its stdout is checked byte for byte. Measured in one run:

* start: ``twelve run -a APP -- true`` (CLI start, WebSocket, one-off start and end);
* piped: N MiB through ``cat`` in the one-off, minus the start, as MiB/s;
* baseline: the same bytes through a local ``cat`` (a pipe on this machine), as MiB/s.

Run: ``.venv/bin/python bench/oneoff_pipe.py [--mib N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = "bench-pipe"


def start_daemon(home: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TWELVE_HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "TWELVE_API_BIND": "127.0.0.1:0",
        "TWELVE_ROUTER_BIND": "127.0.0.1:0",
        "TWELVE_ROUTER_WORKERS": "1",
        "TWELVE_STOP_APPS": "1",
        "TWELVE_STOP_TIMEOUT": "3",
    }
    log = (home / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "twelve", "server"], env=env, stdout=log, stderr=log,
        start_new_session=True,
    )  # fmt: skip
    endpoints = home / "run" / "endpoints.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            json.loads(endpoints.read_text())
            return daemon, env
        except (OSError, ValueError):
            time.sleep(0.1)
    raise SystemExit("the daemon did not start")


def cli(env: dict[str, str], *args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "twelve", *args], env=env, input=data, capture_output=True,
        check=True, timeout=600,
    )  # fmt: skip
    return done.stdout


def timed(fn: object) -> float:
    assert callable(fn)
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = os.urandom(args.mib << 20)
    digest = hashlib.sha256(data).digest()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        source = Path(tmp) / "app"
        source.mkdir()
        (source / "Procfile").write_text("worker: sleep 100000\n")
        daemon, env = start_daemon(home)
        try:
            cli(env, "apps:create", APP)
            cli(env, "deploy", "-a", APP, str(source))
            starts, piped, local = [], [], []
            for _ in range(args.repeat):
                starts.append(timed(lambda: cli(env, "run", "-a", APP, "--", "true")))

                def through_twelve() -> None:
                    out = cli(env, "run", "-a", APP, "--", "cat", data=data)
                    assert hashlib.sha256(out).digest() == digest, "bytes changed on the way"

                piped.append(timed(through_twelve))
                local.append(
                    timed(
                        lambda: subprocess.run(["cat"], input=data, capture_output=True, check=True)
                    )
                )
        finally:
            os.kill(daemon.pid, signal.SIGTERM)
            daemon.wait(60)
    start = min(starts)
    rate = args.mib / max(1e-6, min(piped) - start)
    baseline = args.mib / min(local)
    print(f"start of a one-off (twelve run -- true): {start:.2f} s")
    print(f"piped through twelve run: {rate:.0f} MiB/s ({args.mib} MiB, start excluded)")
    print(f"local pipe baseline:      {baseline:.0f} MiB/s")
    print(f"ratio: {rate / baseline:.3f} of a local pipe")


if __name__ == "__main__":
    main()
