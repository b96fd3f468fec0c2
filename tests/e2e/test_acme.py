"""Automatic HTTPS against Pebble, the ACME test CA: certificates ordered, validated through the
real router, renewed and swapped under live connections, failures retried.

The main tests run in two worlds, each one daemon and one Pebble: ``shared`` (the daemon as a
user, validation over HTTP-01 on the plain port) and ``isolated`` (a root daemon as servers run
it, each app its own user, validation over TLS-ALPN-01 on the TLS port while Pebble's HTTP-01 port
is one nothing listens on). Each world's fixture deploys two apps with two domains each and has
their certificates issued, so each test stands on its own (in any order)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import ssl
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from acme_support import (
    Gate,
    SniHttps,
    all_issued,
    app_log,
    auto,
    certified_names,
    fingerprint,
    start_daemon,
    stop_daemon,
)
from pebble_support import Pebble, free_port, require_pebble, running_pebble
from support import EXAMPLES, Daemon, server_base, wait_for

pytestmark = pytest.mark.slow
HELLO = EXAMPLES / "hello-python"
VALIDITY = 45  # seconds: Pebble's certificates renew 30 s after they are issued
APPS = {"acme-one": ("a.one.test", "b.one.test"), "acme-two": ("a.two.test", "b.two.test")}
BOTH = pytest.mark.parametrize("world", ["shared", "isolated"], indirect=True)
SHARED = pytest.mark.parametrize("world", ["shared"], indirect=True)


@dataclass
class World:
    d: Daemon
    pebble: Pebble
    http_port: int
    tls_port: int
    base: Path
    challenge: str


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, uv_cache: Path
) -> Iterator[World]:
    require_pebble()
    http_port = free_port()
    # Pebble rejects some good nonces, as Let's Encrypt may: the library retries them once.
    if request.param == "shared":
        base = tmp_path_factory.mktemp("acme")
        with running_pebble(
            base / "pebble", http_port, validity=VALIDITY, PEBBLE_WFE_NONCEREJECT="10"
        ) as pebble:
            d = start_daemon(base / "home", uv_cache, http_port, pebble, base / "home.log")
            yield from issued_world(d, pebble, http_port, base, "http-01")
        return
    with server_base("twelve-acme-", tuple(APPS)) as base:
        tls_port = free_port()
        with running_pebble(
            base / "pebble",
            free_port(),  # HTTP-01 cannot pass: nothing listens there
            validity=VALIDITY,
            tls_port=tls_port,
            PEBBLE_WFE_NONCEREJECT="10",
        ) as pebble:
            d = start_daemon(
                base / "home",
                uv_cache,
                http_port,
                pebble,
                base / "home.log",
                TWELVE_ROUTER_TLS_BIND=f"127.0.0.1:{tls_port}",
                TWELVE_ACME_CHALLENGE="tls-alpn-01",
            )
            if os.geteuid() == 0:
                assert "each app runs as its own system user" in d.output()
            yield from issued_world(d, pebble, http_port, base, "tls-alpn-01")


def issued_world(
    d: Daemon, pebble: Pebble, http_port: int, base: Path, challenge: str
) -> Iterator[World]:
    try:
        endpoints = json.loads((d.home / "run" / "endpoints.json").read_text())
        tls_port = int(endpoints["router_tls_url"].rpartition(":")[2])
        for app, domains in APPS.items():
            d.cli("apps:create", app)
            for domain in domains:
                d.cli("domains:add", "-a", app, domain)
            d.cli("deploy", "-a", app, str(HELLO))
        for app in APPS:
            out = d.cli("certs:auto:enable", "-a", app).stdout
            assert f"Automatic certificates enabled for {app} ({pebble.directory})" in out
        for app in APPS:
            wait_for(lambda app=app: all_issued(d, app), 90, f"{app}'s certificate")
        yield World(d, pebble, http_port, tls_port, base, challenge)
    finally:
        stop_daemon(d)


def verified_chain(world: World, domain: str, root: Path) -> bool:
    """openssl: the chain the router presents for ``domain`` verifies against Pebble's root."""
    shown = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{world.tls_port}",
         "-servername", domain, "-showcerts"],
        input=b"", capture_output=True, timeout=20, check=False,
    ).stdout.decode()  # fmt: skip
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", shown, re.S)
    if len(pems) < 2:  # the leaf and Pebble's intermediate
        return False
    leaf, chain = world.base / f"{domain}.pem", world.base / f"{domain}-chain.pem"
    leaf.write_text(pems[0] + "\n")
    chain.write_text("\n".join(pems[1:]) + "\n")
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(root), "-untrusted", str(chain),
         "-verify_hostname", domain, str(leaf)],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    return verified.returncode == 0 and ": OK" in verified.stdout


@BOTH
def test_two_apps_with_two_domains_each_get_certificates_through_the_router(world: World) -> None:
    """(The fixture deployed them and waited for every domain to show ``issued``.)"""
    d, pebble = world.d, world.pebble
    for app, domains in APPS.items():
        data = wait_for(lambda app=app: all_issued(d, app), 60, f"{app}'s certificate")
        assert [x["domain"] for x in data["domains"]] == list(domains)
        assert all(x["expires"] and x["renews"] for x in data["domains"])
        assert "issued" in d.cli("certs:auto", "-a", app).stdout

    root = world.base / "pebble-root.pem"
    root.write_bytes(pebble.root_pem())
    trusted = ssl.create_default_context(cadata=root.read_text())
    for app, domains in APPS.items():
        for domain in domains:
            # (Retried: over TLS-ALPN-01, a renewal being validated shows its validation
            # certificate for that second.)
            wait_for(lambda domain=domain: verified_chain(world, domain, root), 10, domain)
            # Python's TLS client, trusting only Pebble's root, checking the name.
            conn = SniHttps(world.tls_port, domain, trusted)
            try:
                response = conn.get("/over-https")
            finally:
                conn.close()
            assert response.status == 200
        info = d.cli("apps:info", "-a", app).stdout
        assert f"https://{domains[0]}:{world.tls_port}" in info

    home = d.home
    for path in (home / "acme" / "account.json", *(home / "acme" / "acme-one").iterdir()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((home / "acme").stat().st_mode) == 0o700
    assert "BEGIN" not in (home / "twelve.db").read_bytes().decode("latin-1")

    log = app_log(d, "acme-one")
    assert "twelve[acme]" in log and "certificate issued for a.one.test, b.one.test" in log
    challenge_lines = [line for line in log.splitlines() if "acme-challenge" in line]
    if world.challenge == "http-01":
        # Pebble asked for the challenges over HTTP; the router answered, the app never saw them.
        assert challenge_lines and all("router" in line for line in challenge_lines), log
        assert not any(re.search(r"app\[web\.\d+\].*acme-challenge", x) for x in log.splitlines())
    else:
        assert challenge_lines == []  # validated over TLS-ALPN-01 alone
        assert "TLS-ALPN-01" in d.cli("certs:auto", "-a", "acme-one").stdout


@BOTH
def test_renewal_swaps_the_certificate_under_kept_alive_clients(world: World) -> None:
    d = world.d
    domain = APPS["acme-one"][0]
    root = ssl.create_default_context(cadata=world.pebble.root_pem().decode())
    before = fingerprint(world.tls_port, domain)
    errors: list[str] = []
    counts = [0, 0, 0]
    stop = threading.Event()

    def client(index: int) -> None:
        conn = SniHttps(world.tls_port, domain, root)
        try:
            while not stop.is_set():
                response = conn.get(f"/keep-alive/{index}")
                if response.status != 200 or response.will_close:
                    errors.append(f"client {index}: {response.status}")
                counts[index] += 1
                time.sleep(0.05)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"client {index}: {exc!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_for(
            lambda: fingerprint(world.tls_port, domain, root) not in ("", before),
            VALIDITY + 30,
            "renewal",
        )
        seen = list(counts)
        # New connections, spread over both router workers by the kernel, all get the new one
        # (unless yet another renewal came meanwhile: then none gets the old one).
        assert before not in {fingerprint(world.tls_port, domain) for _ in range(12)}
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
    assert errors == []
    assert all(c > s for c, s in zip(counts, seen, strict=True))  # still served after the swap
    assert "renewing a certificate for a.one.test, b.one.test" in app_log(d, "acme-one")
    assert all_issued(d, "acme-one")


@SHARED
def test_a_domain_added_or_removed_changes_the_next_certificate(world: World) -> None:
    d = world.d
    d.cli("domains:add", "-a", "acme-two", "c.two.test")  # no other command
    wait_for(
        lambda: certified_names(d, "acme-two") == ["a.two.test", "b.two.test", "c.two.test"],
        60,
        "the new domain in the certificate",
    )
    assert fingerprint(world.tls_port, "c.two.test") == fingerprint(world.tls_port, "a.two.test")
    d.cli("domains:remove", "-a", "acme-two", "c.two.test")
    wait_for(
        lambda: certified_names(d, "acme-two") == ["a.two.test", "b.two.test"],
        60,
        "the removed domain dropped",
    )
    rows = auto(d, "acme-two")["domains"]
    assert [r["domain"] for r in rows] == ["a.two.test", "b.two.test"]


@SHARED
def test_a_failed_authorization_is_shown_retried_and_then_issued(world: World) -> None:
    d, pebble = world.d, world.pebble
    pebble.point("bad.three.test", "127.0.0.2")  # nothing answers there: validation fails
    d.cli("apps:create", "acme-three")
    d.cli("domains:add", "-a", "acme-three", "bad.three.test")
    d.cli("certs:auto:enable", "-a", "acme-three")

    def failing() -> dict[str, Any] | None:
        # The shared Pebble also rejects one nonce in ten: a try may fail on two in a row first.
        rows = auto(d, "acme-three")["domains"]
        if not rows or rows[0]["state"] != "failing":
            return None
        error = rows[0]["error"]
        return rows[0] if "bad.three.test" in error or "connection" in error.lower() else None

    row = wait_for(failing, 90, "the failed authorization")
    assert row["next_try"]
    shown = d.cli("certs:auto", "-a", "acme-three").stdout
    assert "failing" in shown and "next try" in shown
    wait_for(
        lambda: app_log(d, "acme-three").count("certificate order failed: authorization") >= 2,
        60,
        "a second try",
    )
    pebble.unpoint("bad.three.test")
    wait_for(lambda: all_issued(d, "acme-three"), 90, "the certificate after the retry")


@BOTH
def test_https_redirect_and_hsts(world: World) -> None:
    d = world.d
    domain = APPS["acme-two"][1]
    d.cli("features:enable", "-a", "acme-two", "https-redirect")
    d.cli("features:enable", "-a", "acme-two", "hsts", "--max-age", "600")
    assert "https-redirect" in d.cli("features", "-a", "acme-two").stdout

    def plain(path: str) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", world.http_port, timeout=10)
        try:
            conn.request("GET", path, headers={"Host": domain})
            response = conn.getresponse()
            response.read()
            return response
        finally:
            conn.close()

    response = wait_for(lambda: (r := plain("/x?y=1")).status == 308 and r, 20, "the redirect")
    assert response.getheader("Location") == f"https://{domain}:{world.tls_port}/x?y=1"
    assert plain("/.well-known/acme-challenge/unknown").status == 404  # challenges excepted
    conn = SniHttps(world.tls_port, domain, ssl.create_default_context(
        cadata=world.pebble.root_pem().decode()))  # fmt: skip
    try:
        response = conn.get("/")
    finally:
        conn.close()
    assert response.getheader("Strict-Transport-Security") == "max-age=600"
    d.cli("features:disable", "-a", "acme-two", "https-redirect")
    wait_for(lambda: plain("/").status == 200, 20, "plain HTTP again")
    deployed = d.cli("deploy", "-a", "acme-two", str(HELLO)).stdout
    assert f"https://a.two.test:{world.tls_port} (HTTPS)" in deployed


@SHARED
def test_a_restart_in_the_middle_of_an_order_resumes_it(world: World) -> None:
    d, pebble = world.d, world.pebble
    gate = Gate("127.0.0.3", world.http_port, world.http_port)
    try:
        pebble.point("held.four.test", "127.0.0.3")
        d.cli("apps:create", "acme-four")
        d.cli("domains:add", "-a", "acme-four", "held.four.test")
        d.cli("certs:auto:enable", "-a", "acme-four")
        assert gate.arrived.wait(60), "Pebble never came to validate"
        state_file = d.home / "acme" / "acme-four" / "state.json"
        state = wait_for(
            lambda: (s := json.loads(state_file.read_text()))["phase"] == "validating" and s,
            20,
            "the validating phase",
        )
        d.stop(signal.SIGKILL)  # mid-order: the router and the keeper stay
        d.start()
        wait_for(
            lambda: (
                f"resuming the order for held.four.test (validating): {state['order_url']}"
                in app_log(d, "acme-four")
            ),
            60,
            "the order resumed",
        )
        routes = d.home / "run" / "routes.json"
        wait_for(
            lambda: json.loads(routes.read_text())["apps"]["acme-four"]["edge"]["challenges"],
            20,
            "the challenge back in the route table",
        )
        gate.release.set()
        wait_for(lambda: all_issued(d, "acme-four"), 60, "the resumed order's certificate")
        log = app_log(d, "acme-four")
        assert log.count("ordering a certificate for held.four.test") == 1  # no second order
    finally:
        gate.close()


def test_rejected_nonces_become_visible_errors_and_retries(tmp_path: Path, uv_cache: Path) -> None:
    port = free_port()
    with running_pebble(tmp_path / "pebble", port, PEBBLE_WFE_NONCEREJECT="100") as pebble:
        d = start_daemon(tmp_path / "home", uv_cache, port, pebble, tmp_path / "home.log")
        try:
            d.cli("apps:create", "acme-five")
            d.cli("domains:add", "-a", "acme-five", "a.five.test")
            d.cli("certs:auto:enable", "-a", "acme-five")
            wait_for(lambda: app_log(d, "acme-five").count("failed: badNonce") >= 2, 60, "retries")
            row = auto(d, "acme-five")["domains"][0]
            assert row["state"] == "failing" and row["error"].startswith("badNonce"), row
            assert row["next_try"]
        finally:
            stop_daemon(d)
