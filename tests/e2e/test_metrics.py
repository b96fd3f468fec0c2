"""Per-app metrics through the real daemon, router and processes: a load of known shape read back
with ``twelve metrics``, memory as the process holds it, Prometheus' exposition, and Heroku's
log-runtime-metrics lines."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import Daemon, wait_for
from twelve.webhooks.signing import HEADER, verify

pytestmark = pytest.mark.slow
METERED = Path(__file__).resolve().parent.parent / "fixtures" / "apps" / "metered"
MIB = 1 << 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _metrics(d: Daemon, app: str, *args: str) -> dict[str, Any]:
    data = d.cli_json("metrics", "-a", app, *args)
    assert isinstance(data, dict)
    return data


def test_metrics_read_back_a_known_load_memory_and_prometheus(
    make_server_daemon: Callable[..., Daemon],
) -> None:
    """40 quick 200s, 10 500s and 10 slow (0.45 s) 200s come back as exact counts, a 5xx rate of
    1/6 and a p95 in the slow ones' bucket; a process holding 64 MiB more than its sibling shows
    64 MiB more, within 10%; the same counts reach Prometheus, on its own bind without a token
    and on the API with one only; log-runtime-metrics lines come once the feature is on."""
    metrics_port = _free_port()
    d = make_server_daemon(
        TWELVE_METRICS_SAMPLE_INTERVAL="1",
        TWELVE_ROUTER_METRICS_INTERVAL="0.5",
        TWELVE_METRICS_BIND=f"127.0.0.1:{metrics_port}",
    )
    app = "metered-e2e"
    d.cli("apps:create", app)
    d.cli("deploy", "-a", app, str(METERED))
    d.cli("ps:scale", "-a", app, "big=1", "small=1")
    for path in ["/"] * 40 + ["/fail"] * 10 + ["/slow"] * 10:
        d.get(app, path)

    def counted() -> dict[str, Any] | None:
        data = _metrics(d, app, "--type", "web", "--since", "10m")
        web = data["types"].get("web")
        return data if web and web["requests"] >= 60 else None

    web = wait_for(counted, 30, "the 60 requests in the metrics")["types"]["web"]
    assert web["requests"] == 60
    assert web["status"] == {"2xx": 50, "5xx": 10}
    assert web["error_rate"] == round(10 / 60, 4)
    assert 400 < web["p95_ms"] <= 600  # the 57th of 60 is a slow one: (0.4 s, 0.6 s]
    assert web["p50_ms"] < 400

    def memory() -> dict[str, Any] | None:
        types = _metrics(d, app, "--since", "10m")["types"]
        if all(types.get(k, {}).get("memory") for k in ("big", "small")):
            return types
        return None

    types = wait_for(memory, 30, "memory samples of both processes")
    held = types["big"]["memory"] - types["small"]["memory"]
    assert abs(held - 64 * MIB) <= 6.4 * MIB, f"{held / MIB:.1f} MiB held"

    exposed = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    assert f'twelve_router_requests_total{{app="{app}",status="2xx",type="web"}} 50.0' in exposed
    assert f'twelve_router_requests_total{{app="{app}",status="5xx",type="web"}} 10.0' in exposed
    assert f'twelve_router_service_seconds_count{{app="{app}",type="web"}} 60.0' in exposed
    assert f'twelve_process_memory_rss_bytes{{app="{app}",type="big"}}' in exposed
    assert httpx.get(f"{d.api_url}/metrics", timeout=10).status_code == 401
    token = (d.home / "api-token").read_text().strip()
    api = httpx.get(
        f"{d.api_url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert api.status_code == 200 and "twelve_router_requests_total" in api.text

    table = d.cli("metrics", "-a", app).stdout
    assert "P95" in table and "web" in table and "big" in table
    assert "16.67%" in table

    d.cli("features:enable", "-a", app, "log-runtime-metrics")
    wait_for(
        lambda: "sample#memory_rss=" in d.cli("logs", "-a", app, "-n", "200").stdout,
        30,
        "a log-runtime-metrics line",
    )
    line = next(
        x
        for x in d.cli("logs", "-a", app, "-n", "200").stdout.splitlines()
        if "source=big.1" in x and "sample#memory_rss=" in x
    )
    rss = float(line.split("sample#memory_rss=")[1].split("MB")[0])
    assert rss >= 64
    bad = d.cli("features:enable", "-a", app, "no-such-feature", check=False)
    assert bad.returncode != 0 and "unknown feature" in bad.stderr
    bad = d.cli("metrics", "-a", app, "--since", "30d", check=False)
    assert bad.returncode != 0 and "7d" in bad.stderr


def test_webhooks_carry_signed_platform_events_and_alerts(
    make_server_daemon: Callable[..., Daemon],
) -> None:
    """A webhook added with the CLI gets the deploy's build, release and dyno events and an alert
    when p95 crosses its threshold, each signed with the secret shown once; the deliveries list
    their status codes."""
    received: list[dict[str, Any]] = []
    signatures: list[tuple[bytes, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signatures.append((body, self.headers.get(HEADER, "")))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        d = make_server_daemon(
            TWELVE_METRICS_SAMPLE_INTERVAL="1",
            TWELVE_ROUTER_METRICS_INTERVAL="0.5",
            TWELVE_WEBHOOK_RETRY_BASE="0.2",
        )
        app = "hooked-e2e"
        d.cli("apps:create", app)
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        included = "release,build,dyno,alert"
        added = d.cli_json("webhooks:add", "-a", app, url, "--include", included)
        assert isinstance(added, dict)
        secret = added["secret"]
        listed = d.cli_json("webhooks", "-a", app)
        assert isinstance(listed, list) and "secret" not in listed[0]
        d.cli("deploy", "-a", app, str(METERED))
        wait_for(
            lambda: {"build", "release", "dyno"} <= {e["resource"] for e in received}, 30, "events"
        )
        dyno = next(e for e in received if e["resource"] == "dyno")
        assert dyno["data"]["name"] == "web.1" and dyno["data"]["state"] == "up"
        d.cli("alerts:set", "-a", app, "p95=100ms")
        for _ in range(5):
            d.get(app, "/slow")
        wait_for(lambda: any(e["resource"] == "alert" for e in received), 30, "the alert")
        alert = next(e for e in received if e["resource"] == "alert")
        assert alert["action"] == "fire" and alert["data"]["metric"] == "p95"
        assert alert["data"]["value"] > 100
        assert all(verify(secret, body, sig) for body, sig in signatures)
        assert {e["resource"] for e in received} <= set(included.split(","))
        deliveries = d.cli_json("webhooks:deliveries", "-a", app)
        assert isinstance(deliveries, list)
        assert {x["last_status"] for x in deliveries} == {204}
        assert {x["state"] for x in deliveries} == {"delivered"}
        table = d.cli("webhooks:deliveries", "-a", app).stdout
        assert "delivered" in table and "204" in table
        bad = d.cli("webhooks:add", "-a", app, "ftp://example.com/", check=False)
        assert bad.returncode != 0 and "http" in bad.stderr
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
