"""Instructions per request in the router's process, counted by callgrind: the same on a busy machine.

    .venv/bin/python bench/router_instructions.py [--app hello|fast] [--headers host|browser]
                                                  [--requests 1000]

Wall-clock figures (``bench/router.py``) move 5-10% between runs on a shared machine; an
instruction count does not, so it shows what a change to the router's hot path saves. The router
runs with one worker under ``valgrind --tool=callgrind``, compiled and interpreted, each twice:
once for N requests and once for 3N, sent one after another on one kept-alive client connection.
The difference between the two totals, divided by 2N, is the count per request, start-up and
shutdown excluded. It prints the count for each build and the ratio compiled/interpreted.
``--app hello`` is examples/hello-python, which closes after every response, so each request
also makes a new connection to the app; ``--app fast`` keeps its connections alive.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import router as bench  # bench/router.py, beside this script: the apps and their ports

STARTUP_TIMEOUT = 180.0  # seconds: Python starts slowly under valgrind


def count(home: Path, ports: list[int], compiled: bool, requests: int, head: bytes) -> int:
    """Instructions the router's process ran to start, serve ``requests`` and stop."""
    home.mkdir(parents=True)
    (home / "run").mkdir()
    backends = [
        {"dyno": f"web.{i}", "host": "127.0.0.1", "port": p} for i, p in enumerate(ports, 1)
    ]
    (home / "run" / "routes.json").write_text(
        json.dumps({"version": 1, "apps": {"hello": {"backends": backends}}})
    )
    port = bench.free_port()
    env = {
        **os.environ,
        "TWELVE_HOME": str(home),
        "TWELVE_ROUTER_BIND": f"127.0.0.1:{port}",
        "TWELVE_ROUTER_WORKERS": "1",  # the worker is this process: nothing forked to follow
        "TWELVE_ROUTER_COMPILED": "1" if compiled else "0",
        "PYTHONHASHSEED": "0",  # the same dict layouts, run after run
    }
    out = home / "callgrind.out"
    argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    argv += [sys.executable, "-m", "twelve.router"]
    with ExitStack() as stack, (home / "router.log").open("wb") as log:
        proc = bench.start(stack, argv, env=env, stdout=log, stderr=subprocess.DEVNULL)
        bench.wait_port(port, STARTUP_TIMEOUT)
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            for _ in range(requests):
                sock.sendall(head)
                _read_response(sock)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(STARTUP_TIMEOUT)
    if f'"compiled": {"true" if compiled else "false"}' not in (home / "router.log").read_text():
        raise SystemExit(f"the router did not run {'compiled' if compiled else 'interpreted'}")
    found = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE)
    if found is None:
        raise SystemExit(f"no callgrind summary in {out}")
    return int(found.group(1))


def _read_response(sock: socket.socket) -> None:
    data = b""
    while True:
        piece = sock.recv(65536)
        if not piece:
            raise SystemExit("the router closed the connection")
        data += piece
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if length is None:
                raise SystemExit("a response without a Content-Length")
            if len(body) >= int(length.group(1)):
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--app", choices=("hello", "fast"), default="hello")
    parser.add_argument("--headers", choices=("host", "browser"), default="host")
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    headers = bench.BROWSER_HEADERS if args.headers == "browser" else ()
    head = b"GET / HTTP/1.1\r\nHost: %b\r\n%b\r\n" % (
        bench.HOST.encode(),
        b"".join(h.encode() + b"\r\n" for h in headers),
    )
    few, many = args.requests, 3 * args.requests
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        ports = bench.start_apps(stack, args.app)
        per_request = {}
        for compiled in (True, False):
            name = "compiled" if compiled else "interpreted"
            # The two runs of a build at once: one core each, and neither counts the other.
            with ThreadPoolExecutor(2) as pool:
                runs = [
                    pool.submit(count, tmp / f"{name}-{n}", ports, compiled, n, head)
                    for n in (few, many)
                ]
                totals = [run.result() for run in runs]
            per_request[name] = (totals[1] - totals[0]) / (many - few)
    print(f"app={args.app} headers={args.headers} requests={few} and {many}, one worker")
    for name, value in per_request.items():
        print(f"  {name:12} {value:9,.0f} instructions per request")
    ratio = per_request["compiled"] / per_request["interpreted"]
    print(f"  compiled/interpreted {ratio:.2f}x")


if __name__ == "__main__":
    main()
