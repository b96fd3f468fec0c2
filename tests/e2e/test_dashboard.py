"""The web dashboard on a real daemon: its session and CSRF rules checked with plain HTTP, and a
user's round through it in Debian's Chromium driven by Playwright, with screenshots of each page
and no request to any other origin."""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import Daemon, daemon_env, requires_service, server_base, wait_for

pytestmark = pytest.mark.slow
METERED = Path(__file__).resolve().parent.parent / "fixtures" / "apps" / "metered"
APP = "dash-e2e"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def daemon(uv_cache: Path) -> Iterator[Daemon]:
    """One daemon for the module, run as servers run it (each app as its own user when root),
    with the metered app deployed."""
    with server_base("twelve-dashboard-", (APP,)) as root:
        home = root / "home"
        home.mkdir()
        env = daemon_env(
            home, uv_cache, TWELVE_METRICS_SAMPLE_INTERVAL="1", TWELVE_ROUTER_METRICS_INTERVAL="0.5"
        )
        d = Daemon(home, env, root / "dashboard-daemon.log")
        d.start(isolated=True)
        try:
            d.cli("apps:create", APP)
            d.cli("deploy", "-a", APP, str(METERED))
            yield d
        finally:
            d.end()


def _token(d: Daemon) -> str:
    return (d.home / "api-token").read_text().strip()


def _login(d: Daemon, client: httpx.Client) -> str:
    """Log ``client`` in; the session's CSRF token (read from a page's form)."""
    page = client.get(f"{d.api_url}/ui/login")
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce
    done = client.post(f"{d.api_url}/ui/login", data={"nonce": nonce[1], "token": _token(d)})
    assert done.status_code == 303
    apps = client.get(f"{d.api_url}/ui/apps")
    csrf = re.search(r'name="csrf" value="([^"]+)"', apps.text)
    assert csrf
    return csrf[1]


def test_login_gives_an_httponly_strict_cookie_and_every_page_a_strict_policy(daemon):
    d = daemon
    with httpx.Client() as client:
        page = client.get(f"{d.api_url}/ui/login")
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
        assert nonce
        wrong = client.post(f"{d.api_url}/ui/login", data={"nonce": nonce[1], "token": "nope"})
        assert wrong.status_code == 401 and "not valid" in wrong.text
        nonce = re.search(r'name="nonce" value="([^"]+)"', wrong.text)
        assert nonce
        done = client.post(f"{d.api_url}/ui/login", data={"nonce": nonce[1], "token": _token(d)})
        assert done.status_code == 303
        cookie = next(
            v for k, v in done.headers.multi_items() if k == "set-cookie" and "twelve_session" in v
        )
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
        assert "Secure" not in cookie  # plain HTTP here; over HTTPS it is Secure
        assert _token(d) not in cookie
        apps = client.get(f"{d.api_url}/ui/apps")
        assert apps.status_code == 200 and APP in apps.text
    with httpx.Client() as stranger:
        assert stranger.get(f"{d.api_url}/ui/apps").status_code == 401
        stranger.cookies.set("twelve_session", "made-up")
        assert stranger.get(f"{d.api_url}/ui/apps").status_code == 401


def test_a_change_needs_the_sessions_csrf_token_and_the_dashboards_origin(daemon):
    d = daemon
    url = f"{d.api_url}/ui/apps/{APP}/config"
    with httpx.Client() as client:
        csrf = _login(d, client)
        missing = client.post(url, data={"key": "CSRF_PROBE", "value": "1"})
        assert missing.status_code == 403
        forged = client.post(url, data={"key": "CSRF_PROBE", "value": "1", "csrf": "x" * 43})
        assert forged.status_code == 403
        foreign = client.post(
            url,
            data={"key": "CSRF_PROBE", "value": "1", "csrf": csrf},
            headers={"Origin": "http://evil.example"},
        )
        assert foreign.status_code == 403
        assert "CSRF_PROBE" not in d.cli("config", "-a", APP).stdout
        done = client.post(url, data={"key": "CSRF_PROBE", "value": "1", "csrf": csrf})
        assert done.status_code == 303
        assert "CSRF_PROBE" in d.cli("config", "-a", APP).stdout
        # Logged out, the same token and cookie change nothing.
        assert client.post(f"{d.api_url}/ui/logout", data={"csrf": csrf}).status_code == 303
        again = client.post(url, data={"key": "AFTER_LOGOUT", "value": "1", "csrf": csrf})
        assert again.status_code == 401
        assert "AFTER_LOGOUT" not in d.cli("config", "-a", APP).stdout
    with httpx.Client() as client:
        page = client.get(f"{d.api_url}/ui/login")
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
        assert nonce
        client.cookies.clear()  # a login form posted from elsewhere has no login cookie
        assert (
            client.post(f"{d.api_url}/ui/login", data={"nonce": nonce[1], "token": _token(d)})
        ).status_code == 403


def test_a_user_scales_configures_rolls_back_follows_logs_and_sees_metrics(
    daemon, tmp_path_factory
):
    """In Chromium: log in, scale web to 2, set a config var, roll back, follow the live log
    while a request is made, and see the throughput chart move after load; a screenshot of each
    page; and not one request to another origin."""
    requires_service("Chromium", os.path.exists(CHROMIUM) and shutil.which("chromium") is not None)
    from playwright.sync_api import Response, sync_playwright  # noqa: PLC0415 (with Chromium)

    d = daemon
    shots = Path(os.environ.get("TWELVE_SCREENSHOTS", tmp_path_factory.mktemp("screenshots")))
    shots.mkdir(parents=True, exist_ok=True)
    origin = d.api_url
    seen: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.on("request", lambda request: seen.append(request.url))
            page.set_default_timeout(20_000)

            sizes: list[int] = []

            def weigh(response: Response) -> None:
                sizes.append(len(response.body()))

            page.on("response", weigh)
            page.goto(f"{origin}/ui/login")
            page.wait_for_load_state("networkidle")
            page.remove_listener("response", weigh)
            assert 0 < sum(sizes) < 200_000  # the first page, everything it loads included
            page.screenshot(path=shots / "login.png")
            page.fill("#token", _token(d))
            with page.expect_navigation():
                page.keyboard.press("Enter")
            page.wait_for_url(f"{origin}/ui/apps")
            assert APP in page.inner_text("main")
            page.screenshot(path=shots / "apps.png")

            page.click(f"text={APP}")
            page.fill('input[name="type:web"]', "2")
            page.click("text=Scale")
            page.wait_for_selector("text=Scaled to")

            def two_up() -> bool:
                page.reload()
                return page.locator('#processes tr[data-state="up"] >> text=/^web\\./').count() == 2

            wait_for(two_up, 30, "two web processes up")
            page.screenshot(path=shots / "overview.png", full_page=True)

            page.click("nav.tabs >> text=Config")
            page.fill('#set-config input[name="key"]', "FROM_BROWSER")
            page.fill('#set-config input[name="value"]', "hello-dashboard")
            page.click("#set-config button")
            page.wait_for_selector("text=Set FROM_BROWSER")
            assert "hello-dashboard" not in page.inner_text("#config")  # masked
            page.click("#config tr:has-text('FROM_BROWSER') >> text=Reveal")
            assert "hello-dashboard" in page.inner_text("#config")
            page.screenshot(path=shots / "config.png")
            assert "FROM_BROWSER" in d.cli("config", "-a", APP).stdout

            page.click("nav.tabs >> text=Releases")
            page.screenshot(path=shots / "releases.png")
            page.locator("a:has-text('Roll back to')").first.click()
            page.screenshot(path=shots / "rollback-confirm.png")
            page.click("button:has-text('Yes, roll back')")
            page.wait_for_selector("text=Rolled back to")
            assert "Rollback to" in d.cli("releases", "-a", APP).stdout

            page.click("nav.tabs >> text=Logs")
            # The page's strict policy forbids evaluated strings: waits read the DOM instead.
            page.wait_for_selector("#log:has-text('twelve[')")
            d.get(APP, "/from-the-browser-test")
            page.wait_for_selector("#log:has-text('/from-the-browser-test')")
            page.screenshot(path=shots / "logs.png")

            page.click("nav.tabs >> text=Builds")
            assert "Build 1" in page.inner_text("main")
            assert "finding" in page.inner_text("#findings")  # twelve check's summary line
            page.screenshot(path=shots / "builds.png", full_page=True)

            page.click("nav.tabs >> text=Metrics")
            page.wait_for_selector("#chart-throughput[data-points]")
            before = float(page.get_attribute("#chart-throughput", "data-total") or 0)
            for _ in range(30):
                d.get(APP, "/")
            wait_for(
                lambda: float(page.get_attribute("#chart-throughput", "data-total") or 0) > before,
                30,
                "the throughput chart to count the new requests",
            )
            page.screenshot(path=shots / "metrics.png", full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})  # a phone's width
            page.screenshot(path=shots / "metrics-phone.png", full_page=True)
        finally:
            browser.close()
    foreign = [u for u in seen if not (u.startswith(origin + "/") or u.startswith("data:"))]
    assert seen and foreign == []
    assert {p.name for p in shots.iterdir()} >= {"login.png", "overview.png", "metrics.png"}


def test_the_dashboard_can_have_a_bind_of_its_own(make_server_daemon):
    """With TWELVE_DASHBOARD_BIND, the dashboard answers there, logs in against the API, and the
    API's own address no longer serves it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    d = make_server_daemon(TWELVE_DASHBOARD_BIND=f"127.0.0.1:{port}")
    with httpx.Client() as client:
        page = client.get(f"http://127.0.0.1:{port}/ui/login")
        assert page.status_code == 200
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
        assert nonce
        done = client.post(
            f"http://127.0.0.1:{port}/ui/login", data={"nonce": nonce[1], "token": _token(d)}
        )
        assert done.status_code == 303
        assert client.get(f"http://127.0.0.1:{port}/ui/apps").status_code == 200
    assert httpx.get(f"{d.api_url}/ui/login").status_code == 401
