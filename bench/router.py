"""Router throughput and latency against the app served directly, through nginx and HAProxy.

    .venv/bin/python bench/router.py [--duration 5] [--connections 32,256] [--app hello|fast]
                                     [--headers host|browser] [--baseline DIR]

One run measures the same app with two web processes (a) directly, the load split over both ports,
(b) through twelve's router as it runs by default (compiled, when ``scripts/bootstrap`` built it),
(b') the same router interpreted (``--interpreted``), (b'') the router of another checkout
(``--baseline DIR``, bootstrapped: say main's, to measure a change before and after in one run),
(c) through nginx with an upstream keep-alive
pool when nginx is installed, set to add the headers twelve adds (``--nginx-few-headers``: only
X-Forwarded-For and -Proto), so the app does the same work behind both, and (c') nginx balancing
with ``least_conn`` (``--nginx-least-conn``; round robin is its default, and twelve's router skips
a process busier than another), and (c'') nginx under the ``SCHED_BATCH`` policy that twelve's
router takes by default (``--nginx-sched-batch``), the like-for-like match; (d) HAProxy, installed
from Debian's package when absent (as root), with connections to the apps kept alive and shared
(``http-reuse always``), one thread per worker, adding the same headers, and (d') with
``leastconn`` (``--haproxy-least-conn``). It prints requests/s and
p50/p99 latency per connection count, the ratios of twelve to each peer and to direct, and each
ratio per round of back-to-back runs (median and range). Load comes
from wrk when present, else from a Python load generator in a separate process. ``--app hello``
is examples/hello-python (HTTP/1.0, a thread per connection); ``--app fast`` is a keep-alive
uvloop server, so the proxies themselves are the load. ``--headers browser`` sends the dozen
headers of a browser's page request instead of Host alone.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from peers import free_port, start, start_haproxy, start_nginx, wait_port

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "examples" / "hello-python"
FAST_APP = Path(__file__).resolve().parent / "fast_app.py"
LOADGEN = Path(__file__).resolve().parent / "loadgen.py"
HOST = "hello.localhost"
PEERS = ("nginx", "nginx-lc", "nginx-b", "haproxy", "haproxy-lc", "twelve-base")
WRK = shutil.which("wrk")
SETTLE = 0.5  # seconds between two measurements, for the last one's connections to close
# What a browser sends with a page request (--headers browser): wrk alone sends only Host, and
# each header costs the proxies a little.
BROWSER_HEADERS = (
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language: en-US,en;q=0.5",
    "Accept-Encoding: gzip, deflate, br, zstd",
    "Referer: http://hello.localhost/",
    "Connection: keep-alive",
    "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark",
    "Upgrade-Insecure-Requests: 1",
    "Sec-Fetch-Dest: document",
    "Sec-Fetch-Mode: navigate",
    "Sec-Fetch-Site: same-origin",
    "Priority: u=0, i",
)
HEADERS: tuple[str, ...] = ()  # sent with every request besides Host


def start_apps(stack: ExitStack, app: str) -> list[int]:
    ports = []
    for i in (1, 2):
        port = free_port()
        env = {**os.environ, "PORT": str(port), "DYNO": f"web.{i}", "PYTHONUNBUFFERED": "1"}
        script = ["python", "app.py"] if app == "hello" else [sys.executable, str(FAST_APP)]
        start(
            stack, script, cwd=HELLO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        ports.append(port)
    for port in ports:
        wait_port(port)
    return ports


def start_router(
    stack: ExitStack,
    tmp: Path,
    ports: list[int],
    workers: int,
    *,
    compiled: bool = True,
    tree: Path | None = None,
) -> tuple[int, bool]:
    """Start twelve's router in front of ``ports``; return its port and whether it runs compiled.

    ``tree``: another checkout of twelve, with the ``.venv`` its ``scripts/bootstrap`` made, whose
    router runs instead of this one's."""
    python = str(tree / ".venv" / "bin" / "python") if tree else sys.executable
    home = tmp / ("twelve-base" if tree else "twelve" if compiled else "twelve-interpreted")
    (home / "run").mkdir(parents=True)
    backends = [
        {"dyno": f"web.{i}", "host": "127.0.0.1", "port": p} for i, p in enumerate(ports, 1)
    ]
    (home / "run" / "routes.json").write_text(
        json.dumps({"version": 1, "apps": {"hello": {"backends": backends}}})
    )
    log = home / "router.log"
    env = {
        **os.environ,
        "TWELVE_HOME": str(home),
        "TWELVE_ROUTER_BIND": "127.0.0.1:0",
        "TWELVE_ROUTER_WORKERS": str(workers),
        "TWELVE_ROUTER_COMPILED": "1" if compiled else "0",
    }
    with log.open("wb") as out:
        start(stack, [python, "-m", "twelve.router"], env=env, stdout=out)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = re.search(
            r'"listening", "address": "[^"]*:(\d+)", "compiled": (\w+)', log.read_text()
        )
        if found:
            return int(found.group(1)), found.group(2) == "true"
        time.sleep(0.05)
    raise SystemExit(f"the router did not start:\n{log.read_text()}")


def load(ports: list[int], connections: int, duration: float) -> dict[str, float]:
    """Requests/s and p50/p99 (ms) with ``connections`` split over ``ports``, run together."""
    per_port = max(1, connections // len(ports))
    procs = []
    for port in ports:
        url = f"http://127.0.0.1:{port}/"
        if WRK:
            argv = [WRK, "-t", "2", "-c", str(per_port), "-d", f"{max(1, round(duration))}s"]
            argv += ["--latency"]
            argv += ["-H", f"Host: {HOST}"]
            for header in HEADERS:
                argv += ["-H", header]
            argv.append(url)
        else:
            argv = [sys.executable, str(LOADGEN), url, HOST, str(per_port), str(duration)]
            argv += HEADERS
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
    parse = parse_wrk if WRK else json.loads
    results = [parse(p.communicate()[0]) for p in procs]
    return {
        "rps": sum(r["rps"] for r in results),
        "p50": max(r["p50"] for r in results),
        "p99": max(r["p99"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


def paired(ours: list[dict[str, float]], theirs: list[dict[str, float]]) -> str:
    """Throughput ratios of the runs one round made back to back, their median and range: the
    machine's slow and fast moments hit both runs of a round, so these move less than the ratio
    of two medians does."""
    ratios = sorted(a["rps"] / b["rps"] for a, b in zip(ours, theirs, strict=True))
    return (
        f"throughput per round {statistics.median(ratios):.2f}x "
        f"(from {ratios[0]:.2f}x to {ratios[-1]:.2f}x over {len(ratios)} rounds)"
    )


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per field, the median over the rounds."""
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(out: str) -> dict[str, float]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if found := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(g) for g in found.groups())
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(found.group(1))
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", default="32,256")
    parser.add_argument("--app", choices=("hello", "fast"), default="hello")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs per target, each round in a rotated order; medians are shown",
    )
    parser.add_argument("--loadgen", choices=("auto", "python"), default="auto")
    parser.add_argument(
        "--headers",
        choices=("host", "browser"),
        default="host",
        help="what each request carries: Host only, or the dozen headers of a browser's request",
    )
    parser.add_argument(
        "--interpreted", action="store_true", help="also measure the router run interpreted"
    )
    parser.add_argument(
        "--nginx-few-headers",
        action="store_true",
        help="nginx adds only X-Forwarded-For and -Proto, not every header twelve adds",
    )
    parser.add_argument(
        "--nginx-least-conn",
        action="store_true",
        help="also measure nginx sending each request to the process with the fewest connections",
    )
    parser.add_argument(
        "--nginx-sched-batch",
        action="store_true",
        help="also measure nginx under SCHED_BATCH, the scheduling policy twelve's router takes",
    )
    parser.add_argument(
        "--haproxy-least-conn",
        action="store_true",
        help="also measure HAProxy sending each request to the process with the fewest connections",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of twelve (bootstrapped) whose router is measured as twelve-base",
    )
    args = parser.parse_args()
    counts = [int(c) for c in args.connections.split(",")]
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        ports = start_apps(stack, args.app)
        router_port, compiled = start_router(stack, tmp, ports, args.workers)
        targets = {"direct": ports, "twelve": [router_port]}
        if args.interpreted:
            port, _ = start_router(stack, tmp, ports, args.workers, compiled=False)
            targets["twelve-py"] = [port]
        nginx_port = start_nginx(
            stack, tmp, ports, args.workers, few_headers=args.nginx_few_headers
        )
        if nginx_port is not None:
            targets["nginx"] = [nginx_port]
            variants = {
                "nginx-lc": {"least_conn": args.nginx_least_conn},
                "nginx-b": {"sched_batch": args.nginx_sched_batch},
            }
            for name, option in variants.items():
                if any(option.values()):
                    variant = start_nginx(
                        stack,
                        tmp / name,
                        ports,
                        args.workers,
                        few_headers=args.nginx_few_headers,
                        **option,
                    )
                    assert variant is not None
                    targets[name] = [variant]
        else:
            print("nginx is not installed: measuring without it")
        for name, least_conn in (("haproxy", False), ("haproxy-lc", True)):
            if least_conn and not args.haproxy_least_conn:
                continue
            found = start_haproxy(
                stack,
                tmp / name,
                ports,
                args.workers,
                few_headers=args.nginx_few_headers,
                least_conn=least_conn,
            )
            if found is None:
                break
            targets[name] = [found]
        if args.baseline is not None:
            port, base_compiled = start_router(
                stack, tmp, ports, args.workers, tree=args.baseline.resolve()
            )
            targets["twelve-base"] = [port]
            if base_compiled != compiled:
                print(
                    "the baseline router and this one differ in being compiled: compare with care"
                )
        global WRK, HEADERS
        if args.loadgen == "python":
            WRK = None
        if args.headers == "browser":
            HEADERS = BROWSER_HEADERS
        tool = "wrk" if WRK else "python load generator"
        print(
            f"app={args.app} workers={args.workers} duration={args.duration}s "
            f"rounds={args.rounds} load={tool} headers={args.headers} "
            f"router={'compiled' if compiled else 'interpreted (no compiled build)'}"
        )
        for count in counts:
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
            for target in targets.values():
                load(target, count, min(1.0, args.duration))  # warm up pools and caches
            # Rounds interleave the targets so a noisy moment on the machine hits all of them, and
            # each round starts one target later: whichever runs right after another is slowed
            # (measured here: by up to 10%), so no target may always take that place.
            names = list(targets)
            for turn in range(args.rounds):
                start = turn % len(names)
                for name in names[start:] + names[:start]:
                    time.sleep(SETTLE)
                    runs[name].append(load(targets[name], count, args.duration))
            results = {name: median(found) for name, found in runs.items()}
            print(f"\n{count} connections")
            for name, r in results.items():
                print(
                    f"  {name:11} {r['rps']:10.0f} req/s   p50 {r['p50']:7.2f} ms   "
                    f"p99 {r['p99']:7.2f} ms   errors {int(r['errors'])}"
                )
            twelve = results["twelve"]
            print(f"  twelve/direct throughput {twelve['rps'] / results['direct']['rps']:.2f}x")
            for theirs in PEERS:
                if theirs not in results:
                    continue
                nginx = results[theirs]
                for name in ("twelve", "twelve-py"):
                    if name in results:
                        r = results[name]
                        print(
                            f"  {name + '/' + theirs:18} throughput {r['rps'] / nginx['rps']:.2f}x"
                            f"   p99 {r['p99'] / nginx['p99']:.2f}x"
                            + ("" if theirs == "twelve-base" else "  (target: >= 1.00x, <= 1.20x)")
                        )
                        print(f"  {'':18} {paired(runs[name], runs[theirs])}")


if __name__ == "__main__":
    main()
