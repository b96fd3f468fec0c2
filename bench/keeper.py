"""Memory of the part that outlives the daemon (the keeper) and of the daemon, with N processes.

    .venv/bin/python bench/keeper.py [--processes 50] [--gap 10]

A daemon runs one app scaled to N worker processes that each print a line a second. Printed, in
one run: the resident memory (VmRSS) of the keeper and of the daemon with the formation up; the
keeper's after ``--gap`` seconds with no daemon (it holds every line written meanwhile); and, as
the baseline, a bare interpreter of the same Python and the keeper before it holds any process.
The goal is the keeper under 30 MB with 50 processes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import EXAMPLES, Daemon, daemon_env, wait_for  # noqa: E402

WORKER = """
import itertools, time
for n in itertools.count(1):
    print(f"tick {n}", flush=True)
    time.sleep(1)
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def bare_interpreter_mb() -> float:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as child:
        time.sleep(0.5)
        try:
            return rss_mb(child.pid)
        finally:
            child.kill()


def workers_up(daemon: Daemon, count: int) -> bool:
    ps = daemon.cli_json("ps", "-a", "kbench")
    assert isinstance(ps, list)
    return sum(1 for p in ps if p["name"].startswith("worker.") and p["state"] == "up") == count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=50)
    parser.add_argument("--gap", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        source = base / "app"
        shutil.copytree(EXAMPLES / "hello-python", source)
        (source / "worker.py").write_text(WORKER)
        (source / "Procfile").write_text("web: python app.py\nworker: python -u worker.py\n")
        home = base / "home"
        home.mkdir()
        env = daemon_env(home, base / "uv-cache", TWELVE_STOP_APPS="0")
        daemon = Daemon(home, env, base / "daemon.log")
        daemon.start()
        try:
            keeper = daemon.keeper_pid()
            assert keeper is not None
            keeper_empty = rss_mb(keeper)
            daemon.cli("apps:create", "kbench")
            daemon.cli("deploy", "-a", "kbench", str(source))
            daemon.cli("ps:scale", "-a", "kbench", f"worker={args.processes}")
            wait_for(lambda: workers_up(daemon, args.processes), 300, "every worker up")
            time.sleep(5)  # a few lines from each, read and acknowledged
            assert daemon.process is not None
            daemon_mb, keeper_mb = rss_mb(daemon.process.pid), rss_mb(keeper)
            daemon.stop(signal.SIGKILL)
            time.sleep(args.gap)
            keeper_gap_mb = rss_mb(keeper)
            daemon.start()
        finally:
            daemon.env["TWELVE_STOP_APPS"] = "1"
            daemon.stop()
            daemon.start()
            daemon.stop()
            daemon.end_recorded_processes()
    print(
        json.dumps(
            {
                "processes": args.processes,
                "bare_interpreter_mb": round(bare_interpreter_mb(), 1),
                "keeper_empty_mb": round(keeper_empty, 1),
                "keeper_mb": round(keeper_mb, 1),
                f"keeper_after_{args.gap:g}s_without_daemon_mb": round(keeper_gap_mb, 1),
                "daemon_mb": round(daemon_mb, 1),
                "keeper_goal_mb": 30,
                "keeper_within_goal": max(keeper_mb, keeper_gap_mb) < 30,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
