"""The proxies twelve's router is measured against in ``bench/router.py``, and the process
helpers the benches share: nginx with an upstream keep-alive pool, HAProxy with ``http-reuse``,
each set to add the headers twelve's router adds, so the apps do the same work behind each."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

from twelve.router.server import yield_to_apps

HOST = "hello.localhost"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {timeout}s")


def start(stack: ExitStack, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    """Start a process in its own group; the stack ends the group."""
    proc = subprocess.Popen(argv, start_new_session=True, **kwargs)  # type: ignore[call-overload]

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    stack.callback(stop)
    return proc


NGINX_CONF = """
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {tmp}/nginx-access.log combined buffer=64k;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream hello {{ {balance}server 127.0.0.1:{p1}; server 127.0.0.1:{p2}; keepalive 256; }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        server_name {host};
        location / {{
            proxy_pass http://hello;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
{forwarded}
        }}
    }}
}}
"""


# What twelve's router adds to every request (docs/router.md), the same for nginx: the app parses
# each header, and an HTTP/1.0 Python app spends about 5% more per request on twelve's seven than
# on two, which would be charged to the router.
NGINX_FORWARDED = """
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Request-Id $request_id;
            proxy_set_header X-Request-Start $msec;
            proxy_set_header Via "1.1 nginx";"""
NGINX_FORWARDED_FEW = """
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;"""


def start_nginx(
    stack: ExitStack,
    tmp: Path,
    ports: list[int],
    workers: int,
    *,
    few_headers: bool = False,
    least_conn: bool = False,
    sched_batch: bool = False,
) -> int | None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        return None
    port = free_port()
    tmp.mkdir(exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            workers=workers,
            tmp=tmp,
            p1=ports[0],
            p2=ports[1],
            port=port,
            host=HOST,
            forwarded=NGINX_FORWARDED_FEW if few_headers else NGINX_FORWARDED,
            balance="least_conn; " if least_conn else "",
        )
    )
    start(
        stack,
        [nginx, "-p", str(tmp), "-c", str(conf)],
        stderr=subprocess.DEVNULL,
        preexec_fn=_sched_batch if sched_batch else None,
    )
    wait_port(port)
    return port


def _sched_batch() -> None:
    """Run in nginx's process before it starts: the policy twelve's router takes, or no nginx."""
    if (why := yield_to_apps()) is not None:
        raise OSError(why)


HAPROXY_CONF = """
global
    nbthread {workers}
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
frontend web
    bind 127.0.0.1:{port}
    default_backend hello
backend hello
    balance {balance}
    http-reuse always
{forwarded}
    server web1 127.0.0.1:{p1} maxconn 1024
    server web2 127.0.0.1:{p2} maxconn 1024
"""
# The headers twelve's router adds (see NGINX_FORWARDED).
HAPROXY_FORWARDED = """
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Port %[dst_port]
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Request-Id %[uuid]
    http-request set-header X-Request-Start %[date(0,ms)]
    http-request set-header Via "1.1 haproxy"
"""
HAPROXY_FORWARDED_FEW = """
    option forwardfor
    http-request set-header X-Forwarded-Proto http
"""


def haproxy_binary() -> str | None:
    """HAProxy's executable, installed from Debian's package when absent and this runs as root
    with apt-get; None (with the reason printed) when it cannot be had."""
    found = shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None
    )
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print("haproxy is not installed (apt-get install haproxy): measuring without it")
        return None
    print("installing haproxy (apt-get install haproxy)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "install", "-y", "-q", "haproxy"], ["apt-get", "update", "-q"]):
        if subprocess.run(argv, env=env, capture_output=True, check=False).returncode == 0:
            break  # installed, or the package lists are fresh for the retry below
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "haproxy"], env=env, capture_output=True, check=False
    )
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        print("haproxy could not be installed: measuring without it")
    return found


def start_haproxy(
    stack: ExitStack,
    tmp: Path,
    ports: list[int],
    workers: int,
    *,
    few_headers: bool = False,
    least_conn: bool = False,
) -> int | None:
    """HAProxy in front of ``ports`` with one thread per worker; its port, or None without it."""
    haproxy = haproxy_binary()
    if haproxy is None:
        return None
    port = free_port()
    tmp.mkdir(exist_ok=True)
    conf = tmp / "haproxy.cfg"
    conf.write_text(
        HAPROXY_CONF.format(
            workers=workers,
            port=port,
            p1=ports[0],
            p2=ports[1],
            balance="leastconn" if least_conn else "roundrobin",
            forwarded=HAPROXY_FORWARDED_FEW if few_headers else HAPROXY_FORWARDED,
        )
    )
    start(stack, [haproxy, "-db", "-f", str(conf)], stderr=subprocess.DEVNULL)
    wait_port(port)
    return port
